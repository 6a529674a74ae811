// knex reads this file; stagecraft runs `knex migrate:latest` (and `migrate:list` for `migrate plan`)
// in a one-off container of the app image, with DATABASE_URL set for the database being migrated.
export default {
  client: 'pg',
  connection: process.env.DATABASE_URL,
  migrations: {
    directory: './migrations',
    tableName: 'knex_migrations',
    loadExtensions: ['.js'],
  },
};
