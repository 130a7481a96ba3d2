import type { ChatMessage, ChatReply, Conversation, Task, TaskFilter, ToolCall } from "./types";
import { TokenManager } from "./token";
import { parseSSE } from "./sse";

/** An error answer of the API: {"error":{"code","message"}}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface StreamHandlers {
  onToken?: (text: string) => void;
  onToolCall?: (call: ToolCall) => void;
}

/**
 * Calls the backend through the same-origin /api paths with a Bearer token.
 * A 401 is retried once with a fresh token; a second 401 calls onUnauthorized.
 */
/**
 * How long after a change of its own the client asks for listings checked
 * against the database. Another replica hears of a change within
 * milliseconds; seconds leave room for a slow moment.
 */
export const REVALIDATE_AFTER_WRITE_MS = 10_000;

export class ApiClient {
  /** When this client last changed tasks (a write, or a chat that may have). */
  private lastWrite = -Infinity;

  constructor(
    private readonly tokens: TokenManager,
    private readonly onUnauthorized: () => void,
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
    private readonly now: () => number = Date.now,
  ) {}

  private async write<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } finally {
      this.lastWrite = this.now();
    }
  }

  private async request(path: string, init: RequestInit = {}, retried = false): Promise<Response> {
    const token = await this.tokens.get();
    if (!token) {
      this.onUnauthorized();
      throw new ApiError(401, "unauthorized", "Your session has ended. Please sign in again.");
    }
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${token}`);
    if (init.body) headers.set("Content-Type", "application/json");
    let res: Response;
    try {
      res = await this.fetchImpl(path, { ...init, headers });
    } catch {
      throw new ApiError(0, "network", "Cannot reach the server. Check your connection and try again.");
    }
    if (res.status === 401) {
      this.tokens.invalidate();
      if (!retried) return this.request(path, init, true);
      this.onUnauthorized();
      throw new ApiError(401, "unauthorized", "Your session has ended. Please sign in again.");
    }
    if (!res.ok) throw await toApiError(res);
    return res;
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await this.request(path, init);
    return (await res.json()) as T;
  }

  /**
   * The tasks, by filter. Soon after a change of its own, the client asks for
   * a listing checked against the database (Cache-Control: no-cache): a
   * backend replica serves listings it holds until PostgreSQL tells it of a
   * change, and the change went through any replica.
   */
  listTasks(filter: TaskFilter): Promise<Task[]> {
    const init = this.now() - this.lastWrite < REVALIDATE_AFTER_WRITE_MS ? { headers: { "Cache-Control": "no-cache" } } : undefined;
    return this.json<{ tasks: Task[] }>(`/api/tasks?status=${filter}`, init).then((r) => r.tasks);
  }

  createTask(title: string, description: string): Promise<Task> {
    return this.write(this.json<Task>("/api/tasks", { method: "POST", body: JSON.stringify({ title, description }) }));
  }

  updateTask(id: number, patch: Partial<Pick<Task, "title" | "description" | "completed">>): Promise<Task> {
    return this.write(this.json<Task>(`/api/tasks/${id}`, { method: "PATCH", body: JSON.stringify(patch) }));
  }

  async deleteTask(id: number): Promise<void> {
    await this.write(this.request(`/api/tasks/${id}`, { method: "DELETE" }));
  }

  listConversations(): Promise<Conversation[]> {
    return this.json<{ conversations: Conversation[] }>("/api/conversations").then((r) => r.conversations);
  }

  messages(conversationId: number): Promise<ChatMessage[]> {
    return this.json<{ messages: ChatMessage[] }>(`/api/conversations/${conversationId}/messages`).then((r) => r.messages);
  }

  async deleteConversation(id: number): Promise<void> {
    await this.request(`/api/conversations/${id}`, { method: "DELETE" });
  }

  /** Sends a chat message, streaming the reply when the server streams; its tools may change tasks. */
  chat(message: string, conversationId: number | null, handlers: StreamHandlers = {}): Promise<ChatReply> {
    return this.write(this.chatReply(message, conversationId, handlers));
  }

  private async chatReply(message: string, conversationId: number | null, handlers: StreamHandlers): Promise<ChatReply> {
    const res = await this.request("/api/chat", {
      method: "POST",
      headers: { Accept: "text/event-stream, application/json" },
      body: JSON.stringify(conversationId ? { message, conversation_id: conversationId } : { message }),
    });
    if (!res.headers.get("Content-Type")?.includes("text/event-stream") || !res.body) {
      return (await res.json()) as ChatReply;
    }
    let done: ChatReply | null = null;
    for await (const ev of parseSSE(res.body)) {
      const data = JSON.parse(ev.data);
      if (ev.event === "token") handlers.onToken?.(data.text);
      else if (ev.event === "tool_call") handlers.onToolCall?.(data as ToolCall);
      else if (ev.event === "done") done = data as ChatReply;
      else if (ev.event === "error") throw new ApiError(502, data.error?.code ?? "error", data.error?.message ?? "The assistant failed.");
    }
    if (!done) throw new ApiError(502, "incomplete", "The reply was cut off. Please try again.");
    return done;
  }
}

async function toApiError(res: Response): Promise<ApiError> {
  try {
    const body = await res.json();
    if (body?.error?.message) return new ApiError(res.status, body.error.code ?? "error", body.error.message);
  } catch {
    // not JSON: fall through
  }
  if (res.status === 429) return new ApiError(429, "rate_limited", "You are sending messages too fast. Wait a moment.");
  return new ApiError(res.status, "error", `The server answered ${res.status}. Please try again.`);
}
