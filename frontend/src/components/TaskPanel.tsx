"use client";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useApi } from "./ApiProvider";
import { ApiError } from "@/lib/api";
import { loadDraft, saveDraft } from "@/lib/drafts";
import type { Task, TaskFilter } from "@/lib/types";

const FILTERS: { value: TaskFilter; label: string }[] = [
  { value: "all", label: "All" },
  { value: "pending", label: "Pending" },
  { value: "completed", label: "Completed" },
];

const message = (err: unknown) => (err instanceof Error ? err.message : "Something went wrong.");

function matches(filter: TaskFilter, t: Task): boolean {
  return filter === "all" || (filter === "completed") === t.completed;
}

export function TaskPanel({ refreshKey = 0 }: { refreshKey?: number }) {
  const api = useApi();
  const [filter, setFilter] = useState<TaskFilter>("all");
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  // Bumped when a change of ours starts and when it ends: a listing requested
  // before then may not hold it, and must not replace what the change showed.
  const changes = useRef(0);
  const change = async <T,>(call: () => Promise<T>): Promise<T> => {
    changes.current++;
    try {
      return await call();
    } finally {
      changes.current++;
    }
  };

  useEffect(() => {
    let stale = false; // a slower answer for an earlier filter must not win
    const asOf = changes.current;
    api.listTasks(filter).then(
      (ts) => {
        if (stale) return;
        if (changes.current !== asOf) {
          setReloads((n) => n + 1); // overtaken by a change: ask again
          return;
        }
        setTasks(ts);
        setError(null);
      },
      (err) => {
        if (!stale) setError(message(err));
      },
    );
    return () => {
      stale = true;
    };
  }, [api, filter, refreshKey, reloads]);

  // Optimistic change: apply now, roll back to the previous list if the server refuses.
  const optimistic = async (apply: (ts: Task[]) => Task[], call: () => Promise<unknown>) => {
    const before = tasks ?? [];
    setTasks(apply(before));
    try {
      await change(call);
      setError(null);
    } catch (err) {
      setTasks(before);
      setError(message(err));
    }
  };

  const toggle = (t: Task) =>
    optimistic(
      (ts) => ts.map((x) => (x.id === t.id ? { ...x, completed: !x.completed } : x)).filter((x) => matches(filter, x)),
      () => api.updateTask(t.id, { completed: !t.completed }),
    );
  const remove = (t: Task) =>
    optimistic(
      (ts) => ts.filter((x) => x.id !== t.id),
      () => api.deleteTask(t.id),
    );
  const rename = (t: Task, title: string, description: string) =>
    optimistic(
      (ts) => ts.map((x) => (x.id === t.id ? { ...x, title, description } : x)),
      () => api.updateTask(t.id, { title, description }),
    );

  return (
    <section aria-labelledby="tasks-heading" className="flex flex-col gap-4 rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200 sm:p-6">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="tasks-heading" className="text-lg font-semibold text-slate-900">
          Tasks
        </h2>
        <div role="group" aria-label="Show tasks" className="flex gap-1">
          {FILTERS.map((f) => (
            <button
              key={f.value}
              type="button"
              aria-pressed={filter === f.value}
              onClick={() => setFilter(f.value)}
              className="rounded-md px-3 py-1 text-sm font-medium text-slate-700 aria-pressed:bg-indigo-600 aria-pressed:text-white hover:bg-slate-100 aria-pressed:hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
            >
              {f.label}
            </button>
          ))}
        </div>
      </div>

      <AddTaskForm
        onAdd={async (title, description) => {
          const created = await change(() => api.createTask(title, description));
          setTasks((ts) => (matches(filter, created) ? [created, ...(ts ?? [])] : ts));
        }}
      />

      {error && (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {error}{" "}
          <button type="button" className="underline" onClick={() => setReloads((n) => n + 1)}>
            Retry
          </button>
        </p>
      )}

      {tasks === null && !error ? (
        <p className="text-sm text-slate-500" aria-live="polite">
          Loading tasks…
        </p>
      ) : tasks && tasks.length === 0 ? (
        <p className="rounded-md border border-dashed border-slate-300 p-6 text-center text-sm text-slate-500">
          {filter === "all" ? "No tasks yet. Add one above, or ask the assistant." : `No ${filter} tasks.`}
        </p>
      ) : (
        <ul aria-label="Task list" className="divide-y divide-slate-100">
          {tasks?.map((t) => (
            <TaskItem key={t.id} task={t} onToggle={toggle} onDelete={remove} onSave={rename} />
          ))}
        </ul>
      )}
    </section>
  );
}

function AddTaskForm({ onAdd }: { onAdd: (title: string, description: string) => Promise<void> }) {
  const [title, setTitle] = useState(() => loadDraft("task-title"));
  const [description, setDescription] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const titleRef = useRef<HTMLInputElement>(null);
  const id = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!title.trim()) {
      setError("Enter a title.");
      titleRef.current?.focus();
      return;
    }
    setBusy(true);
    try {
      await onAdd(title.trim(), description.trim());
      setTitle("");
      setDescription("");
      saveDraft("task-title", "");
      setError(null);
      titleRef.current?.focus();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : message(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} className="flex flex-col gap-2" aria-label="Add a task" noValidate>
      <div className="flex flex-col gap-2 sm:flex-row">
        <label htmlFor={`${id}-title`} className="sr-only">
          New task title
        </label>
        <input
          ref={titleRef}
          id={`${id}-title`}
          value={title}
          maxLength={200}
          placeholder="What needs doing?"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
          onChange={(e) => {
            setTitle(e.target.value);
            saveDraft("task-title", e.target.value);
          }}
          className="min-w-0 flex-1 rounded-md border border-slate-300 px-3 py-2 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600"
        />
        <label htmlFor={`${id}-description`} className="sr-only">
          Description (optional)
        </label>
        <input
          id={`${id}-description`}
          value={description}
          maxLength={1000}
          placeholder="Details (optional)"
          onChange={(e) => setDescription(e.target.value)}
          className="min-w-0 flex-1 rounded-md border border-slate-300 px-3 py-2 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600"
        />
        <button
          type="submit"
          disabled={busy}
          className="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-700 disabled:opacity-60 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
        >
          {busy ? "Adding…" : "Add task"}
        </button>
      </div>
      {error && (
        <p id={`${id}-error`} role="alert" className="text-sm text-red-700">
          {error}
        </p>
      )}
    </form>
  );
}

function TaskItem({
  task,
  onToggle,
  onDelete,
  onSave,
}: {
  task: Task;
  onToggle: (t: Task) => void;
  onDelete: (t: Task) => void;
  onSave: (t: Task, title: string, description: string) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [title, setTitle] = useState(task.title);
  const [description, setDescription] = useState(task.description);
  const id = useId();

  if (editing) {
    return (
      <li className="py-3">
        <form
          aria-label={`Edit task ${task.title}`}
          className="flex flex-col gap-2 sm:flex-row"
          onSubmit={(e) => {
            e.preventDefault();
            if (!title.trim()) return;
            onSave(task, title.trim(), description.trim());
            setEditing(false);
          }}
          onKeyDown={(e) => {
            if (e.key === "Escape") setEditing(false);
          }}
        >
          <label htmlFor={`${id}-t`} className="sr-only">
            Title
          </label>
          <input
            id={`${id}-t`}
            autoFocus
            value={title}
            maxLength={200}
            onChange={(e) => setTitle(e.target.value)}
            className="min-w-0 flex-1 rounded-md border border-slate-300 px-2 py-1 text-sm"
          />
          <label htmlFor={`${id}-d`} className="sr-only">
            Description
          </label>
          <input
            id={`${id}-d`}
            value={description}
            maxLength={1000}
            onChange={(e) => setDescription(e.target.value)}
            className="min-w-0 flex-1 rounded-md border border-slate-300 px-2 py-1 text-sm"
          />
          <div className="flex gap-2">
            <button type="submit" className="rounded-md bg-indigo-600 px-3 py-1 text-sm font-medium text-white">
              Save
            </button>
            <button type="button" onClick={() => setEditing(false)} className="rounded-md border border-slate-300 px-3 py-1 text-sm">
              Cancel
            </button>
          </div>
        </form>
      </li>
    );
  }

  return (
    <li className="flex flex-wrap items-start gap-3 py-3">
      <input
        id={`${id}-done`}
        type="checkbox"
        checked={task.completed}
        onChange={() => onToggle(task)}
        className="mt-1 size-4 accent-indigo-600"
      />
      <label htmlFor={`${id}-done`} className="min-w-0 flex-1 cursor-pointer">
        <span className={`block text-sm font-medium break-words ${task.completed ? "text-slate-400 line-through" : "text-slate-900"}`}>
          {task.title}
        </span>
        {task.description && <span className="block text-sm break-words text-slate-500">{task.description}</span>}
      </label>
      {confirming ? (
        <div role="group" aria-label={`Confirm deleting ${task.title}`} className="flex gap-2">
          <button
            type="button"
            autoFocus
            onClick={() => onDelete(task)}
            className="rounded-md bg-red-600 px-3 py-1 text-sm font-medium text-white hover:bg-red-700"
          >
            Delete
          </button>
          <button type="button" onClick={() => setConfirming(false)} className="rounded-md border border-slate-300 px-3 py-1 text-sm">
            Keep
          </button>
        </div>
      ) : (
        <div className="flex gap-2">
          <button
            type="button"
            aria-label={`Edit ${task.title}`}
            onClick={() => {
              setTitle(task.title);
              setDescription(task.description);
              setEditing(true);
            }}
            className="rounded-md px-2 py-1 text-sm text-slate-600 hover:bg-slate-100"
          >
            Edit
          </button>
          <button
            type="button"
            aria-label={`Delete ${task.title}`}
            onClick={() => setConfirming(true)}
            className="rounded-md px-2 py-1 text-sm text-red-700 hover:bg-red-50"
          >
            Delete
          </button>
        </div>
      )}
    </li>
  );
}
