export async function up(knex) {
  // Databases set up before the example moved to knex already have this table.
  if (await knex.schema.hasTable('greetings')) return;
  await knex.schema.createTable('greetings', (table) => {
    table.bigIncrements('id');
    table.text('text').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex) {
  await knex.schema.dropTableIfExists('greetings');
}
