// What the console does with a record's members: the part a user may edit, the JSON Patch from one
// state to another, and the three-way merge of a save that lost a compare-and-swap.
export type Json = null | boolean | number | string | Json[] | { [member: string]: Json };
export type Members = { [member: string]: Json };

// Written by the server, never by a client (API.md section 2).
export const systemMembers = new Set([
    'id',
    'type',
    'version',
    'etag',
    'created_at',
    'updated_at',
    'created_by',
    'updated_by',
    'deleted_at',
]);

export function editable(record: Members): Members {
    const out: Members = {};
    for (const [name, value] of Object.entries(record)) if (!systemMembers.has(name)) out[name] = value;
    return out;
}

export function equal(a: Json | undefined, b: Json | undefined): boolean {
    if (a === b) return true;
    if (a === undefined || b === undefined || a === null || b === null) return false;
    if (typeof a !== 'object' || typeof b !== 'object') return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => equal(v, b[i]));
    const left = a as Members;
    const right = b as Members;
    const names = Object.keys(left);
    return names.length === Object.keys(right).length && names.every((n) => n in right && equal(left[n], right[n]));
}

export type PatchOperation =
    | { op: 'add' | 'replace'; path: string; value: Json }
    | { op: 'remove'; path: string };

function pointer(member: string): string {
    return `/${member.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

// The JSON Patch (RFC 6902) that turns the members `from` into `to`, member by member at the top
// level: exact (a null value stays a null, which a merge patch cannot say) and short.
export function patchBetween(from: Members, to: Members): PatchOperation[] {
    const ops: PatchOperation[] = [];
    for (const name of Object.keys(from)) if (!(name in to)) ops.push({ op: 'remove', path: pointer(name) });
    for (const [name, value] of Object.entries(to)) {
        if (!(name in from)) ops.push({ op: 'add', path: pointer(name), value });
        else if (!equal(from[name], value)) ops.push({ op: 'replace', path: pointer(name), value });
    }
    return ops;
}

export interface Conflict {
    member: string;
    base: Json | undefined; // undefined: the member was absent
    theirs: Json | undefined;
    mine: Json | undefined;
}

export interface Merge {
    merged: Members; // every member decided; a conflict's member holds `mine` until the user picks
    conflicts: Conflict[];
    theirsChanged: string[]; // members the other writer changed, taken as they are
}

// Three-way merge of top-level members. `base` is what the editor started from, `theirs` the
// current version, `mine` the editor's text. A member changed on one side only takes that side; a
// member changed on both sides to different values is a conflict.
export function threeWay(base: Members, theirs: Members, mine: Members): Merge {
    const merged: Members = {};
    const conflicts: Conflict[] = [];
    const theirsChanged: string[] = [];
    const names = new Set([...Object.keys(base), ...Object.keys(theirs), ...Object.keys(mine)]);
    for (const member of names) {
        const b = base[member];
        const t = theirs[member];
        const m = mine[member];
        let decided: Json | undefined;
        if (equal(t, m)) decided = m;
        else if (equal(m, b)) {
            decided = t;
            theirsChanged.push(member);
        } else if (equal(t, b)) decided = m;
        else {
            conflicts.push({ member, base: b, theirs: t, mine: m });
            decided = m;
        }
        if (decided !== undefined) merged[member] = decided;
    }
    return { merged, conflicts, theirsChanged };
}

// The value a conflict's pick puts in `merged` (undefined removes the member).
export function resolve(merged: Members, conflict: Conflict, pick: 'base' | 'theirs' | 'mine'): Members {
    const out = { ...merged };
    const value = conflict[pick];
    if (value === undefined) delete out[conflict.member];
    else out[conflict.member] = value;
    return out;
}

export function show(value: Json | undefined): string {
    return value === undefined ? '(absent)' : JSON.stringify(value, null, 2);
}
