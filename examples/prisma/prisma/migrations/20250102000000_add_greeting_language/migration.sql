-- AlterTable
ALTER TABLE "Greeting" ADD COLUMN     "language" TEXT NOT NULL DEFAULT 'en';
