// `acr-import completion bash|zsh|fish`: a completion script made from commander's tree of commands
// and options, so it never falls behind the flags. commander has no completion of its own, and the
// packages that add it want a shell hook at run time; a static script is all that is needed here.
import { Argument, type Command, type Option } from 'commander';
import { usageError } from '../errors.js';

const SHELLS = ['bash', 'zsh', 'fish'];

interface CommandWords {
  name: string;
  options: { flags: string[]; takesValue: boolean; choices: string[]; description: string }[];
}

export function registerCompletionCommand(program: Command, stdout: NodeJS.WritableStream): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(acr-import completion bash)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .action((shell: string) => {
      stdout.write(completionScript(program, shell));
    });
}

export function completionScript(program: Command, shell: string): string {
  const commands = program.commands.map(wordsOf);
  const top = wordsOf(program);
  if (shell === 'bash') return bashScript(program.name(), top, commands);
  if (shell === 'zsh') return `#compdef ${program.name()}\nautoload -U +X bashcompinit && bashcompinit\n${bashScript(program.name(), top, commands)}`;
  if (shell === 'fish') return fishScript(program.name(), top, commands);
  throw usageError(`No completion for '${shell}'.`, `Use one of: ${SHELLS.join(', ')}.`);
}

function wordsOf(cmd: Command): CommandWords {
  const options = cmd.options.map((o: Option) => ({
    flags: [o.short, o.long].filter((f): f is string => Boolean(f)),
    takesValue: o.required || o.optional,
    choices: o.argChoices ?? [],
    description: o.description,
  }));
  options.push({ flags: ['-h', '--help'], takesValue: false, choices: [], description: 'display help' });
  return { name: cmd.name(), options };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bashScript(name: string, top: CommandWords, commands: CommandWords[]): string {
  const fn = `_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
  const def = commands[0]!; // import, the default command
  const caseFor = (c: CommandWords) => `    ${c.name}) words=${quote(c.options.flatMap((o) => o.flags).join(' '))} ;;`;
  const valueCases = [top, ...commands].flatMap((c) => c.options.filter((o) => o.takesValue)).map((o) => `    ${o.flags.join('|')}) ${o.choices.length ? `COMPREPLY=($(compgen -W ${quote(o.choices.join(' '))} -- "$cur"))` : 'COMPREPLY=()'}; return ;;`);
  return `# ${name} completion for bash: source <(${name} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" words w i
  ((COMP_CWORD > 0)) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
${[...new Set(valueCases)].join('\n')}
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in ${commands.map((c) => c.name).join('|')}) cmd="$w"; break ;; esac
  done
  case "$cmd" in
${commands.map(caseFor).join('\n')}
    *) words=${quote([...commands.map((c) => c.name), ...top.options.flatMap((o) => o.flags), ...def.options.flatMap((o) => o.flags)].join(' '))} ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F ${fn} ${name}
`;
}

function fishScript(name: string, top: CommandWords, commands: CommandWords[]): string {
  const names = commands.map((c) => c.name).join(' ');
  const line = (condition: string, o: CommandWords['options'][number]) => {
    const parts = [`complete -c ${name} -n ${quote(condition)}`];
    for (const f of o.flags) parts.push(f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`);
    if (o.takesValue) parts.push(o.choices.length ? `-x -a ${quote(o.choices.join(' '))}` : '-r');
    parts.push(`-d ${quote(o.description)}`);
    return parts.join(' ');
  };
  const lines = [`# ${name} completion for fish: ${name} completion fish | source`, `complete -c ${name} -f`];
  for (const c of commands) lines.push(`complete -c ${name} -n ${quote(`not __fish_seen_subcommand_from ${names}`)} -a ${c.name}`);
  for (const o of top.options) lines.push(line(`not __fish_seen_subcommand_from ${names}`, o));
  // import is the default command: its flags also complete before any command is named.
  for (const o of commands[0]!.options) lines.push(line(`not __fish_seen_subcommand_from ${commands.slice(1).map((c) => c.name).join(' ')}`, o));
  for (const c of commands.slice(1)) for (const o of c.options) lines.push(line(`__fish_seen_subcommand_from ${c.name}`, o));
  return `${lines.join('\n')}\n`;
}
