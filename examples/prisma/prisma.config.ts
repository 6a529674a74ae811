// prisma's CLI reads this. Migrations go through the pg driver adapter and prisma's WebAssembly schema
// engine (engine: "js"), so the CLI needs no native engine binary downloaded at install or run time.
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL }),
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
