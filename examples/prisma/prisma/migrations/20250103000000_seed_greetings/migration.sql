-- A data migration, written by hand (prisma migrate dev --create-only)
INSERT INTO "Greeting" ("text", "language") VALUES ('hello', 'en'), ('bonjour', 'fr');
