INSERT INTO greetings (text) VALUES ('hello'), ('hallo'), ('bonjour');
