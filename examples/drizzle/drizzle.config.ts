// drizzle-kit reads this file (generate writes drizzle/, migrate applies it). stagecraft runs
// `drizzle-kit migrate` in a one-off container of the app image with DATABASE_URL in its env;
// stagecraft's plan does not run this file: it reads drizzle/ (migrations.path) from the image and
// drizzle's default table, drizzle.__drizzle_migrations.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
  dbCredentials: { url: process.env.DATABASE_URL ?? '' },
});
