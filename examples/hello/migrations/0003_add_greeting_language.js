export async function up(knex) {
  await knex.schema.alterTable('greetings', (table) => {
    table.text('language');
  });
}

export async function down(knex) {
  await knex.schema.alterTable('greetings', (table) => {
    table.dropColumn('language');
  });
}
