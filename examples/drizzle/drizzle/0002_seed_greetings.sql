-- Custom SQL migration file, put your code below! --
INSERT INTO "greetings" ("message", "language") VALUES ('hello', 'en'), ('bonjour', 'fr'), ('hallo', 'de');
