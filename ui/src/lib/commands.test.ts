// Every desktop command the window is allowed to call is used by a screen, and nothing calls
// Rust except through backend.ts: the declarations in src-tauri/commands.txt, the capability
// files and the UI cannot drift apart.
import { describe, expect, it } from 'vitest';
import { COMMANDS } from './generated/commands';

/** The UI's own sources (not tests, not generated files, not backend.ts itself). */
const sources = Object.entries(
  import.meta.glob(['../**/*.svelte', '../**/*.ts', '!../**/*.test.ts', '!./generated/**'], {
    query: '?raw',
    import: 'default',
    eager: true,
  }) as Record<string, string>,
).filter(([path]) => !path.endsWith('/backend.ts') && !path.endsWith('/test-fixtures.ts'));

/** What the window is granted: `capabilities/<group>.json` → its permissions. */
const capabilities = import.meta.glob('../../../src-tauri/capabilities/*.json', {
  import: 'default',
  eager: true,
}) as Record<string, { windows: string[]; permissions: string[] }>;

function granted(): Map<string, string> {
  const byPermission = new Map<string, string>();
  for (const [path, capability] of Object.entries(capabilities)) {
    const group = path.replace(/^.*\//, '').replace(/\.json$/, '');
    for (const permission of capability.permissions) byPermission.set(permission, group);
  }
  return byPermission;
}

describe('desktop commands', () => {
  it('reads the sources and the capabilities', () => {
    expect(sources.length).toBeGreaterThan(20);
    expect(Object.keys(capabilities).length).toBeGreaterThan(0);
  });

  it('grants the main window exactly the declared commands, each in its group', () => {
    const declared = new Map(
      Object.entries(COMMANDS).map(([name, { group }]) => [`allow-${name.replaceAll('_', '-')}`, group]),
    );
    expect(granted()).toEqual(declared);
    for (const capability of Object.values(capabilities)) expect(capability.windows).toEqual(['main']);
  });

  it('has a screen that uses every allowed command through backend.ts', () => {
    const unused = Object.entries(COMMANDS)
      .filter(([, { binding }]) => {
        const use = new RegExp(`\\b${binding}\\b`);
        return !sources.some(([, text]) => /from '[./a-z]*\/backend'/.test(text) && use.test(text));
      })
      .map(([name]) => name);
    expect(unused, 'allowed but no screen calls them: remove them from src-tauri/commands.txt').toEqual([]);
  });

  it('calls Rust only through backend.ts', () => {
    const direct = sources
      .filter(([, text]) => /\binvoke\s*[(<]|@tauri-apps\/api\/core/.test(text))
      .map(([path]) => path);
    expect(direct, 'these call Rust around backend.ts, where undeclared commands would slip through').toEqual([]);
  });
});
