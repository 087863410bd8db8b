/**
 * A small Dockerfile reader for the tests that check what the deployment relies on (the Dockerfile's own
 * test, the Kubernetes manifests' test): instructions, stages, and what the runtime stage runs as whom.
 */
export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions with line continuations joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

export function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.args.split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

export const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
export const last = (stage: Stage, keyword: string) => all(stage, keyword).at(-1);

/** `ENV A=1 B=2` (the only form this Dockerfile uses) as a record. */
export function envOf(stage: Stage): Record<string, string> {
  const pairs = all(stage, 'ENV').flatMap((i) => i.args.split(/\s+/).map((pair) => pair.split('=')));
  return Object.fromEntries(pairs.map(([key = '', ...value]) => [key, value.join('=')]));
}

export interface Copy {
  from?: string;
  sources: string[];
  destination: string;
}

export function copiesOf(stage: Stage): Copy[] {
  return all(stage, 'COPY').map((i) => {
    const words = i.args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((w) => !w.startsWith('--'));
    return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
  });
}

/** An exec-form (JSON) instruction's argv; shell form runs under /bin/sh -c. */
function argvOf(instruction: Instruction): string[] {
  return instruction.args.startsWith('[') ? (JSON.parse(instruction.args) as string[]) : ['/bin/sh', '-c', instruction.args];
}

/**
 * What the container runs: ENTRYPOINT followed by CMD, as Docker combines them. Without an ENTRYPOINT
 * the base image's docker-entrypoint.sh runs the CMD as given; an ENTRYPOINT of the stage's own drops
 * the base image's CMD.
 */
export function commandOf(stage: Stage): string[] {
  const entrypoint = last(stage, 'ENTRYPOINT');
  const cmd = last(stage, 'CMD');
  if (!entrypoint) return cmd ? argvOf(cmd) : ['node'];
  return [...argvOf(entrypoint), ...(cmd ? argvOf(cmd) : [])];
}

export function workdirOf(stage: Stage): string {
  return last(stage, 'WORKDIR')?.args ?? '/';
}
