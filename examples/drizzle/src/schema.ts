import { pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';

export const greetings = pgTable('greetings', {
  id: serial('id').primaryKey(),
  message: text('message').notNull(),
  language: text('language').notNull().default('en'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
