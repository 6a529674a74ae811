import { z } from 'zod';
import { EXTENSION_PREFIX, fileSchema } from './schema.js';

/** JSON Schema (draft 2020-12) of stagecraft.yml as users write it, generated from the zod schema. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(fileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  // zod's strict objects cannot express the free-form `x-*` keys the loader ignores.
  return { ...schema, patternProperties: { [`^${EXTENSION_PREFIX}`]: {} } };
}
