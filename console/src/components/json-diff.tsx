// Two JSON values as a line diff (the `diff` package's diffJson, over canonical key order).
import { diffJson } from 'diff';

export function JsonDiff({ before, after, label }: { before: object; after: object; label: string }) {
    const parts = diffJson(before, after);
    const changed = parts.some((p) => p.added || p.removed);
    return (
        <figure class="diff" aria-label={label}>
            <figcaption>{label}</figcaption>
            {changed ? (
                <pre data-testid="diff">
                    {parts.map((part, i) => {
                        const mark = part.added ? '+' : part.removed ? '-' : ' ';
                        const lines = part.value.replace(/\n$/, '').split('\n');
                        return (
                            <span key={i} class={part.added ? 'added' : part.removed ? 'removed' : 'same'}>
                                {lines.map((line) => `${mark} ${line}\n`).join('')}
                            </span>
                        );
                    })}
                </pre>
            ) : (
                <p class="hint">No difference.</p>
            )}
        </figure>
    );
}
