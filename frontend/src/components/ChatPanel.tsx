"use client";
import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { useApi } from "./ApiProvider";
import { changesTasks, describeToolCall } from "@/lib/toolcalls";
import { loadDraft, saveDraft } from "@/lib/drafts";
import type { Conversation, ToolCall } from "@/lib/types";

interface Line {
  role: "user" | "assistant";
  content: string;
  toolCalls: ToolCall[];
}

const message = (err: unknown) => (err instanceof Error ? err.message : "Something went wrong.");

export function ChatPanel({ onTasksChanged }: { onTasksChanged: () => void }) {
  const api = useApi();
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [conversationId, setConversationId] = useState<number | null>(null);
  const [lines, setLines] = useState<Line[]>([]);
  const [input, setInput] = useState(() => loadDraft("chat"));
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const logRef = useRef<HTMLDivElement>(null);
  const id = useId();

  // Only the latest listing is shown: an earlier one, answered late, may
  // predate the conversation a message has just started.
  const conversationLoads = useRef(0);
  const loadConversations = useCallback(() => {
    const load = ++conversationLoads.current;
    api.listConversations().then(
      (cs) => load === conversationLoads.current && setConversations(cs),
      (err) => load === conversationLoads.current && setError(message(err)),
    );
  }, [api]);

  useEffect(loadConversations, [loadConversations]);

  useEffect(() => {
    logRef.current?.scrollTo?.({ top: logRef.current.scrollHeight });
  }, [lines]);

  const open = async (c: Conversation | null) => {
    setError(null);
    setConversationId(c?.id ?? null);
    if (!c) {
      setLines([]);
      return;
    }
    try {
      const msgs = await api.messages(c.id);
      setLines(msgs.map((m) => ({ role: m.role, content: m.content, toolCalls: m.tool_calls })));
    } catch (err) {
      setError(message(err));
    }
  };

  const send = async (e?: FormEvent) => {
    e?.preventDefault();
    const text = input.trim();
    if (!text || pending) return;
    setPending(true);
    setError(null);
    setLines((ls) => [...ls, { role: "user", content: text, toolCalls: [] }, { role: "assistant", content: "", toolCalls: [] }]);
    // Update the reply being streamed, always the last line.
    const updateLast = (f: (l: Line) => Line) => setLines((ls) => [...ls.slice(0, -1), f(ls[ls.length - 1]!)]);
    try {
      const reply = await api.chat(text, conversationId, {
        onToken: (t) => updateLast((l) => ({ ...l, content: l.content + t })),
        onToolCall: (c) => updateLast((l) => ({ ...l, toolCalls: [...l.toolCalls, c] })),
      });
      updateLast(() => ({ role: "assistant", content: reply.response, toolCalls: reply.tool_calls }));
      setInput("");
      saveDraft("chat", "");
      if (reply.conversation_id !== conversationId) {
        setConversationId(reply.conversation_id);
        loadConversations();
      }
      if (reply.tool_calls.some(changesTasks)) onTasksChanged();
    } catch (err) {
      setLines((ls) => ls.slice(0, -2)); // the message stays in the input to send again
      setError(message(err));
    } finally {
      setPending(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    }
  };

  return (
    <section aria-labelledby="chat-heading" className="flex min-h-[28rem] flex-col gap-3 rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200 sm:p-6">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="chat-heading" className="text-lg font-semibold text-slate-900">
          Assistant
        </h2>
        <div className="flex items-center gap-2">
          <label htmlFor={`${id}-conv`} className="sr-only">
            Conversation
          </label>
          <select
            id={`${id}-conv`}
            value={conversationId ?? ""}
            onChange={(e) => void open(conversations.find((c) => c.id === Number(e.target.value)) ?? null)}
            className="max-w-48 rounded-md border border-slate-300 px-2 py-1 text-sm"
          >
            <option value="">New conversation</option>
            {conversations.map((c) => (
              <option key={c.id} value={c.id}>
                {c.title}
              </option>
            ))}
          </select>
          <button type="button" onClick={() => void open(null)} className="rounded-md border border-slate-300 px-3 py-1 text-sm hover:bg-slate-100">
            New chat
          </button>
        </div>
      </div>

      <div ref={logRef} role="log" aria-label="Messages" aria-live="polite" className="flex flex-1 flex-col gap-3 overflow-y-auto rounded-md bg-slate-50 p-3">
        {lines.length === 0 && (
          <p className="text-sm text-slate-500">Try &ldquo;add buy milk&rdquo;, &ldquo;what&apos;s pending?&rdquo; or &ldquo;mark buy milk done&rdquo;.</p>
        )}
        {lines.map((l, i) => (
          <div key={i} className={l.role === "user" ? "self-end max-w-[85%]" : "self-start max-w-[85%]"}>
            <span className="sr-only">{l.role === "user" ? "You said:" : "Assistant:"}</span>
            {l.toolCalls.length > 0 && (
              <ul className="mb-1 flex flex-col gap-0.5" aria-label="Actions">
                {l.toolCalls.map((c, j) => (
                  <li key={j} className="text-xs font-medium text-emerald-700">
                    ✓ {describeToolCall(c)}
                  </li>
                ))}
              </ul>
            )}
            <p
              className={`whitespace-pre-wrap break-words rounded-lg px-3 py-2 text-sm ${
                l.role === "user" ? "bg-indigo-600 text-white" : "bg-white text-slate-900 ring-1 ring-slate-200"
              }`}
            >
              {l.content || (pending && i === lines.length - 1 ? "…" : "")}
            </p>
          </div>
        ))}
      </div>

      {error && (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {error}
        </p>
      )}

      <form onSubmit={send} className="flex items-end gap-2" aria-label="Send a message">
        <label htmlFor={`${id}-msg`} className="sr-only">
          Message
        </label>
        <textarea
          id={`${id}-msg`}
          rows={2}
          value={input}
          maxLength={4000}
          placeholder="Message the assistant (Enter to send, Shift+Enter for a new line)"
          onChange={(e) => {
            setInput(e.target.value);
            saveDraft("chat", e.target.value);
          }}
          onKeyDown={onKeyDown}
          className="min-w-0 flex-1 resize-none rounded-md border border-slate-300 px-3 py-2 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600"
        />
        <button
          type="submit"
          disabled={pending || !input.trim()}
          aria-busy={pending}
          className="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-700 disabled:opacity-60"
        >
          {pending ? "Sending…" : "Send"}
        </button>
      </form>
    </section>
  );
}
