/**
 * Sessions → tasks. A task is one human prompt and all the agent's requests until the
 * next prompt of the same session (or, where the agent has its own task ids, the
 * requests of that task). Requests before the first prompt form an untitled task.
 */
import { applyRecord, emptyTotals, type RequestRecord, type Totals } from './ledger';

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

/** Groups one session's requests under its prompts, in time order. */
export function buildTasks(sessionId: string, prompts: readonly PromptRecord[], requests: readonly RequestRecord[]): Task[] {
  const ordered = [...prompts].sort((a, b) => a.timestamp - b.timestamp || (a.key < b.key ? -1 : 1));
  const tasks: Task[] = ordered.map((p) => ({
    id: p.key, sessionId, title: taskTitle(p.text), prompt: p, start: p.timestamp, end: p.timestamp, requests: [], totals: emptyTotals(), models: [],
  }));
  let head: Task | undefined;
  const sorted = [...requests].sort((a, b) => a.timestamp - b.timestamp);
  let i = -1; // index of the last prompt at or before the current request
  for (const r of sorted) {
    while (i + 1 < tasks.length && tasks[i + 1]!.start <= r.timestamp) i++;
    let task = i >= 0 ? tasks[i] : undefined;
    if (!task) {
      head ??= { id: `${sessionId}#start`, sessionId, title: '', start: r.timestamp, end: r.timestamp, requests: [], totals: emptyTotals(), models: [] };
      task = head;
    }
    task.requests.push(r);
    applyRecord(task.totals, r, 1);
    if (r.timestamp > task.end) task.end = r.timestamp;
    const model = r.model ?? '(unknown)';
    if (!task.models.includes(model)) task.models.push(model);
  }
  return head ? [head, ...tasks] : tasks;
}
