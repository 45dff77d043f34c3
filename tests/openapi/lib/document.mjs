// docs/openapi.json as a judge of live answers: each answer's status must be documented for its
// operation, its Content-Type must be one the document gives, its body must validate (Ajv, JSON
// Schema 2020-12, the dialect of OpenAPI 3.1) and the headers the document marks required must be
// there. Every judged answer is counted per operation and status for the coverage table.
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sourceDir } from './processes.mjs';

export const documentPath = join(sourceDir, 'docs/openapi.json');
const documentId = 'https://reqstore.invalid/openapi.json';
const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function escapePointerToken(token) {
    return String(token).replaceAll('~', '~0').replaceAll('/', '~1');
}

export class Document {
    constructor(text = readFileSync(documentPath, 'utf8')) {
        this.text = text;
        this.root = JSON.parse(text);
        this.ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: true });
        addFormats(this.ajv);
        this.ajv.addSchema(this.root, documentId);
        this.validators = new Map();
        this.operations = new Map();
        for (const [path, item] of Object.entries(this.root.paths)) {
            for (const method of methods) {
                const op = item[method];
                if (op) this.operations.set(op.operationId, { method: method.toUpperCase(), path, op, item });
            }
        }
        // operationId -> Map(status -> count)
        this.exercised = new Map([...this.operations.keys()].map((id) => [id, new Map()]));
    }

    // Follows OpenAPI-level references ({"$ref": "#/components/..."}) to the object and its pointer.
    resolve(value, pointer) {
        while (value && typeof value === 'object' && typeof value.$ref === 'string') {
            if (!value.$ref.startsWith('#/')) throw new Error(`only local references are expected: ${value.$ref}`);
            pointer = value.$ref.slice(1);
            value = pointer
                .split('/')
                .slice(1)
                .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
                .reduce((node, token) => node?.[token], this.root);
            if (value === undefined) throw new Error(`unresolved reference ${pointer}`);
        }
        return { value, pointer };
    }

    // A validator for the schema at `pointer` inside the document, so that its $refs resolve.
    validator(pointer) {
        let validate = this.validators.get(pointer);
        if (!validate) {
            validate = this.ajv.compile({ $ref: `${documentId}#${pointer}` });
            this.validators.set(pointer, validate);
        }
        return validate;
    }

    operation(operationId) {
        const found = this.operations.get(operationId);
        if (!found) throw new Error(`no operation ${operationId} in docs/openapi.json`);
        return found;
    }

    // The URL path of an operation with its path parameters filled in.
    pathOf(operationId, parameters = {}) {
        return this.operation(operationId).path.replace(/\{([^}]+)\}/g, (_, name) => {
            if (!(name in parameters)) throw new Error(`${operationId} needs the path parameter ${name}`);
            return encodeURIComponent(parameters[name]);
        });
    }

    // The documented response for a status: the exact code, then its class ("4XX"), then "default".
    responseFor(operationId, status) {
        const { op, path, method } = this.operation(operationId);
        const base = `/paths/${escapePointerToken(path)}/${method.toLowerCase()}/responses`;
        for (const key of [String(status), `${String(status)[0]}XX`, 'default']) {
            if (op.responses[key]) return this.resolve(op.responses[key], `${base}/${escapePointerToken(key)}`);
        }
        return null;
    }

    // Judges one answer; answers the problems found (empty: it conforms) and counts it.
    judge(operationId, { status, headers, bodyText }) {
        const problems = [];
        const counts = this.exercised.get(operationId);
        counts.set(status, (counts.get(status) ?? 0) + 1);
        const response = this.responseFor(operationId, status);
        if (!response) return [`${status} is not a documented answer of ${operationId}`];

        for (const [name, header] of Object.entries(response.value.headers ?? {})) {
            const { value } = this.resolve(header, '');
            if (value.required && headers.get(name) === null) problems.push(`required header ${name} is missing`);
        }

        const content = response.value.content;
        const mediaType = (headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
        if (!content) {
            if (bodyText.length > 0) problems.push(`a body (${mediaType}) where the document gives none`);
            return problems;
        }
        const documented = Object.keys(content).find((type) => type.toLowerCase() === mediaType);
        if (!documented) {
            problems.push(`Content-Type "${mediaType}" is not one of ${Object.keys(content).join(', ')}`);
            return problems;
        }
        const schema = content[documented].schema;
        if (!schema) return problems;
        if (!/json/.test(mediaType)) return problems; // text: the document gives only {type: string}
        let body;
        try {
            body = JSON.parse(bodyText);
        } catch (e) {
            return [...problems, `the body is not JSON: ${e.message}`];
        }
        const pointer = `${response.pointer}/content/${escapePointerToken(documented)}/schema`;
        const validate = this.validator(pointer);
        if (!validate(body)) {
            for (const error of validate.errors)
                problems.push(`body${error.instancePath} ${error.message} (${error.schemaPath})`);
        }
        return problems;
    }

    // A webhook payload (POST body) against the document's `webhooks` entry for its event.
    judgeWebhook(event, headers, body) {
        const problems = [];
        const item = this.root.webhooks?.[event];
        if (!item?.post) return [`no webhook "${event}" in the document`];
        for (const parameter of item.post.parameters ?? []) {
            const { value } = this.resolve(parameter, '');
            if (value.in === 'header' && value.required && headers[value.name.toLowerCase()] === undefined)
                problems.push(`required header ${value.name} is missing`);
        }
        const pointer = `/webhooks/${escapePointerToken(event)}/post/requestBody/content/application~1json/schema`;
        const validate = this.validator(pointer);
        if (!validate(body)) {
            for (const error of validate.errors)
                problems.push(`body${error.instancePath} ${error.message} (${error.schemaPath})`);
        }
        return problems;
    }

    // The operation x status table: every documented status of every operation, with how often it
    // was seen, and the statuses seen that the document does not give.
    coverageTable() {
        const lines = [];
        const unexercised = [];
        for (const [operationId, { op, method, path }] of this.operations) {
            const counts = this.exercised.get(operationId);
            const documented = Object.keys(op.responses);
            const cells = documented.map((code) => {
                const n = counts.get(Number(code)) ?? 0;
                return n > 0 ? `${code}:${n}` : `${code}:-`;
            });
            const extra = [...counts.keys()].filter((code) => !documented.includes(String(code)));
            if (counts.size === 0) unexercised.push(operationId);
            lines.push(
                `${operationId.padEnd(22)} ${(method + ' ' + path).padEnd(40)} ${cells.join(' ')}` +
                    (extra.length ? `  undocumented: ${extra.join(' ')}` : ''),
            );
        }
        return { text: lines.join('\n'), unexercised };
    }
}
