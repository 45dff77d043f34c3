// The text of src/api/schema.d.ts: the types openapi-typescript generates from docs/openapi.json.
import openapiTS, { astToString } from 'openapi-typescript';

export const schemaFile = new URL('../src/api/schema.d.ts', import.meta.url);

export async function schemaText() {
    const ast = await openapiTS(new URL('../../docs/openapi.json', import.meta.url));
    return '// Generated from docs/openapi.json by console/scripts/generate-schema.mjs: do not edit.\n' + astToString(ast);
}
