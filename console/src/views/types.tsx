// The configured types (GET /v1/types), for the filters and the status picker.
import { useEffect, useState } from 'preact/hooks';
import type { components } from '../api/schema';
import type { Session } from '../api/session';

export type TypeDescription = components['schemas']['Type'];

export function useTypes(session: Session): TypeDescription[] {
    const [types, setTypes] = useState<TypeDescription[]>([]);
    useEffect(() => {
        session.client.GET('/v1/types').then((answer) => setTypes(answer.data?.data ?? []));
    }, [session]);
    return types;
}

export function TypeFilter({ types, value, onChange }: { types: TypeDescription[]; value: string; onChange: (type: string) => void }) {
    return (
        <label>
            Type
            <select name="type" value={value} onChange={(e) => onChange(e.currentTarget.value)}>
                <option value="">any</option>
                {types.map((t) => (
                    <option key={t.name} value={t.name}>
                        {t.name}
                    </option>
                ))}
            </select>
        </label>
    );
}
