export async function up(knex) {
  const [{ count }] = await knex('greetings').count({ count: '*' });
  if (Number(count) > 0) return;
  await knex('greetings').insert([{ text: 'hello' }, { text: 'hallo' }, { text: 'bonjour' }]);
}

export async function down(knex) {
  await knex('greetings').whereIn('text', ['hello', 'hallo', 'bonjour']).delete();
}
