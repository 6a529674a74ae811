-- CreateTable
CREATE TABLE "Greeting" (
    "id" SERIAL NOT NULL,
    "text" TEXT NOT NULL,

    CONSTRAINT "Greeting_pkey" PRIMARY KEY ("id")
);
