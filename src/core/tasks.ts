/**
 * Sessions → tasks. A task is one human prompt and all the agent's requests until the
 * next prompt of the same session (or, where the agent has its own task ids, the
 * requests of that task). Requests before the first prompt form an untitled task.
 */
import { applyRecord, emptyTotals, type RequestRecord, type Totals } from './ledger';
import type { EditRecord } from './output';

export interface PromptRecord {
  key: string;
  sessionId: string;
  timestamp: number;
  /** Untrusted log text (render as text only). */
  text: string;
  file: string;
}

export interface Task {
  /** Stable id: the prompt's key, or `<sessionId>#start` for requests before the first prompt. */
  id: string;
  sessionId: string;
  /** First line of the prompt, trimmed; '' when there is no prompt. Untrusted text. */
  title: string;
  prompt?: PromptRecord;
  start: number;
  end: number;
  requests: RequestRecord[];
  totals: Totals;
  models: string[];
  /** Lines the agent's edit tools added / removed in this task (failed calls count nothing). */
  linesAdded: number;
  linesRemoved: number;
  /** Distinct files those edits touched. */
  filesTouched: number;
  /** False when some edit's pre-image was unknown (the line counts are then a lower bound). */
  editsExact: boolean;
}

/** Prompts are wrapped by some agents in markup that is not what the person typed. */
const WRAPPER = /^<(command-name|command-message|command-args|local-command-stdout|local-command-stderr|system-reminder)>/;

export function taskTitle(text: string): string {
  const firstLine = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '') ?? '';
  return firstLine.length > 120 ? `${firstLine.slice(0, 119)}…` : firstLine;
}

/** Whether a prompt text is a real human prompt worth a task (not a command wrapper or meta text). */
export function isHumanPrompt(text: string): boolean {
  const t = text.trimStart();
  return t !== '' && !WRAPPER.test(t);
}

const noEdits = () => ({ linesAdded: 0, linesRemoved: 0, filesTouched: 0, editsExact: true });

/** Groups one session's requests (and the edits its tools made) under its prompts, in time order. */
export function buildTasks(sessionId: string, prompts: readonly PromptRecord[], requests: readonly RequestRecord[], edits: readonly EditRecord[] = []): Task[] {
  const ordered = [...prompts].sort((a, b) => a.timestamp - b.timestamp || (a.key < b.key ? -1 : 1));
  const tasks: Task[] = ordered.map((p) => ({
    id: p.key, sessionId, title: taskTitle(p.text), prompt: p, start: p.timestamp, end: p.timestamp, requests: [], totals: emptyTotals(), models: [], ...noEdits(),
  }));
  let head: Task | undefined;
  const sorted = [...requests].sort((a, b) => a.timestamp - b.timestamp);
  let i = -1; // index of the last prompt at or before the current request
  for (const r of sorted) {
    while (i + 1 < tasks.length && tasks[i + 1]!.start <= r.timestamp) i++;
    let task = i >= 0 ? tasks[i] : undefined;
    if (!task) {
      head ??= { id: `${sessionId}#start`, sessionId, title: '', start: r.timestamp, end: r.timestamp, requests: [], totals: emptyTotals(), models: [], ...noEdits() };
      task = head;
    }
    task.requests.push(r);
    applyRecord(task.totals, r, 1);
    if (r.timestamp > task.end) task.end = r.timestamp;
    const model = r.model ?? '(unknown)';
    if (!task.models.includes(model)) task.models.push(model);
  }
  // Edits go to the task whose prompt came last at or before them, like requests.
  const files = new Map<Task, Set<string>>();
  for (const e of [...edits].sort((a, b) => a.timestamp - b.timestamp)) {
    if (e.failed) continue;
    let j = -1;
    while (j + 1 < tasks.length && tasks[j + 1]!.start <= e.timestamp) j++;
    let task = j >= 0 ? tasks[j] : undefined;
    if (!task) {
      head ??= { id: `${sessionId}#start`, sessionId, title: '', start: e.timestamp, end: e.timestamp, requests: [], totals: emptyTotals(), models: [], ...noEdits() };
      task = head;
    }
    task.linesAdded += e.linesAdded;
    task.linesRemoved += e.linesRemoved;
    if (!e.exact) task.editsExact = false;
    let set = files.get(task);
    if (!set) files.set(task, (set = new Set()));
    set.add(e.path);
    task.filesTouched = set.size;
  }
  return head ? [head, ...tasks] : tasks;
}
