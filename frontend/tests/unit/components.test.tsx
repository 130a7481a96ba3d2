import { describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/react";
import { ApiProvider } from "@/components/ApiProvider";
import { TaskPanel } from "@/components/TaskPanel";
import { ChatPanel } from "@/components/ChatPanel";
import { AuthForm } from "@/components/AuthForm";
import { useSearchParams, type ReadonlyURLSearchParams } from "next/navigation";
import { ApiClient, ApiError } from "@/lib/api";
import type { Task, ToolCall } from "@/lib/types";
import { setupUser } from "./user";

const task = (id: number, title: string, completed = false): Task => ({
  id, title, description: "", completed, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z",
});

/** A fake ApiClient: an in-memory task list, with switchable failures. */
function fakeApi(initial: Task[] = []) {
  let tasks = [...initial];
  let nextId = 100;
  const api = {
    fail: false,
    listTasks: vi.fn(async (f: string) => tasks.filter((t) => f === "all" || (f === "completed") === t.completed)),
    createTask: vi.fn(async (title: string, description: string) => {
      const t = { ...task(nextId++, title), description };
      tasks = [t, ...tasks];
      return t;
    }),
    updateTask: vi.fn(async (id: number, patch: Partial<Task>) => {
      if (api.fail) throw new ApiError(500, "internal", "internal server error");
      tasks = tasks.map((t) => (t.id === id ? { ...t, ...patch } : t));
      return tasks.find((t) => t.id === id)!;
    }),
    deleteTask: vi.fn(async (id: number) => {
      if (api.fail) throw new ApiError(500, "internal", "internal server error");
      tasks = tasks.filter((t) => t.id !== id);
    }),
    listConversations: vi.fn(async () => [{ id: 3, title: "earlier chat", created_at: "", updated_at: "" }]),
    messages: vi.fn(async () => [
      { id: 1, role: "user" as const, content: "add eggs", tool_calls: [], created_at: "" },
      { id: 2, role: "assistant" as const, content: "Added eggs.", tool_calls: [], created_at: "" },
    ]),
    chat: vi.fn(),
  };
  return api;
}

function renderWith(ui: React.ReactNode, api: ReturnType<typeof fakeApi>) {
  return render(<ApiProvider client={api as unknown as ApiClient}>{ui}</ApiProvider>);
}

describe("TaskPanel", () => {
  it("shows the empty state, then adds a task from the keyboard", async () => {
    const api = fakeApi();
    const user = setupUser();
    renderWith(<TaskPanel />, api);
    expect(await screen.findByText(/No tasks yet/)).toBeInTheDocument();
    await user.type(screen.getByLabelText("New task title"), "buy milk");
    await user.type(screen.getByLabelText("Description (optional)"), "2 litres{Enter}");
    expect(await screen.findByText("buy milk")).toBeInTheDocument();
    expect(api.createTask).toHaveBeenCalledWith("buy milk", "2 litres");
    expect(screen.getByLabelText("New task title")).toHaveValue("");
    expect(screen.getByLabelText("New task title")).toHaveFocus();
  });

  it("keeps a task added while the first listing is still on its way", async () => {
    const api = fakeApi();
    let answerFirstListing: (ts: Task[]) => void = () => {};
    api.listTasks.mockImplementationOnce(() => new Promise<Task[]>((resolve) => (answerFirstListing = resolve)));
    const user = setupUser();
    renderWith(<TaskPanel />, api);
    await user.type(screen.getByLabelText("New task title"), "added early{Enter}");
    await waitFor(() => expect(api.createTask).toHaveBeenCalled());
    answerFirstListing([]); // read before the task was stored
    await waitFor(() => expect(api.listTasks).toHaveBeenCalledTimes(2));
    expect(await within(screen.getByRole("list", { name: "Task list" })).findByText("added early")).toBeInTheDocument();
    expect(screen.queryByText(/No tasks yet/)).not.toBeInTheDocument();
  });

  it("refuses an empty title with an accessible error", async () => {
    const api = fakeApi();
    const user = setupUser();
    renderWith(<TaskPanel />, api);
    await user.click(await screen.findByRole("button", { name: "Add task" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Enter a title.");
    expect(screen.getByLabelText("New task title")).toHaveAttribute("aria-invalid", "true");
    expect(api.createTask).not.toHaveBeenCalled();
  });

  it("filters by status", async () => {
    const api = fakeApi([task(1, "open one"), task(2, "done one", true)]);
    const user = setupUser();
    renderWith(<TaskPanel />, api);
    expect(await screen.findByText("open one")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Completed" }));
    await waitFor(() => expect(screen.queryByText("open one")).not.toBeInTheDocument());
    expect(screen.getByText("done one")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Completed" })).toHaveAttribute("aria-pressed", "true");
  });

  it("toggles optimistically and rolls back when the server refuses", async () => {
    const api = fakeApi([task(1, "buy milk")]);
    const user = setupUser();
    renderWith(<TaskPanel />, api);
    const box = await screen.findByRole("checkbox", { name: "buy milk" });
    await user.click(box);
    expect(box).toBeChecked();
    api.fail = true;
    await user.click(box);
    expect(await screen.findByRole("alert")).toHaveTextContent("internal server error");
    expect(screen.getByRole("checkbox", { name: "buy milk" })).toBeChecked(); // rolled back to done
  });

  it("edits inline and deletes only after confirmation", async () => {
    const api = fakeApi([task(1, "buy milk")]);
    const user = setupUser();
    renderWith(<TaskPanel />, api);
    await user.click(await screen.findByRole("button", { name: "Edit buy milk" }));
    const title = screen.getByLabelText("Title");
    await user.clear(title);
    await user.type(title, "buy oat milk{Enter}");
    expect(await screen.findByText("buy oat milk")).toBeInTheDocument();
    expect(api.updateTask).toHaveBeenCalledWith(1, { title: "buy oat milk", description: "" });

    await user.click(screen.getByRole("button", { name: "Delete buy oat milk" }));
    const confirm = screen.getByRole("group", { name: "Confirm deleting buy oat milk" });
    expect(api.deleteTask).not.toHaveBeenCalled();
    await user.click(within(confirm).getByRole("button", { name: "Keep" }));
    expect(screen.getByText("buy oat milk")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Delete buy oat milk" }));
    await user.click(screen.getByRole("button", { name: "Delete" }));
    expect(await screen.findByText(/No tasks yet/)).toBeInTheDocument();
    expect(api.deleteTask).toHaveBeenCalledWith(1);
  });
});

describe("ChatPanel", () => {
  const added: ToolCall = { name: "add_task", arguments: { title: "buy milk" }, result: { task_id: 5, status: "created", title: "buy milk" } };

  it("sends on Enter, keeps Shift+Enter as a new line, shows tool calls and refreshes tasks", async () => {
    const api = fakeApi();
    api.chat.mockImplementation(async (_m: string, _c: number | null, h: { onToken?: (t: string) => void; onToolCall?: (c: ToolCall) => void }) => {
      h.onToolCall?.(added);
      h.onToken?.("Added ");
      h.onToken?.("it.");
      return { conversation_id: 9, response: "Added it.", tool_calls: [added] };
    });
    const onTasksChanged = vi.fn();
    const user = setupUser();
    renderWith(<ChatPanel onTasksChanged={onTasksChanged} />, api);
    const box = screen.getByLabelText("Message");
    await user.type(box, "add{Shift>}{Enter}{/Shift}buy milk");
    expect(box).toHaveValue("add\nbuy milk");
    expect(api.chat).not.toHaveBeenCalled();
    await user.clear(box);
    await user.type(box, "add buy milk{Enter}");
    const log = screen.getByRole("log");
    expect(await within(log).findByText("Added it.")).toBeInTheDocument();
    expect(within(log).getByText(/Added task 'buy milk'/)).toBeInTheDocument();
    expect(api.chat).toHaveBeenCalledWith("add buy milk", null, expect.any(Object));
    expect(onTasksChanged).toHaveBeenCalledOnce();
    expect(box).toHaveValue("");
  });

  it("keeps the message and shows the error when sending fails", async () => {
    const api = fakeApi();
    api.chat.mockRejectedValue(new ApiError(429, "rate_limited", "too many chat messages, retry later"));
    const user = setupUser();
    renderWith(<ChatPanel onTasksChanged={() => {}} />, api);
    await user.type(screen.getByLabelText("Message"), "hello{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent("too many chat messages");
    expect(screen.getByLabelText("Message")).toHaveValue("hello");
  });

  it("lists a conversation started while the first listing is still on its way", async () => {
    const api = fakeApi();
    let answerFirstListing: (cs: Awaited<ReturnType<typeof api.listConversations>>) => void = () => {};
    api.listConversations.mockImplementationOnce(() => new Promise((resolve) => (answerFirstListing = resolve)));
    api.listConversations.mockResolvedValueOnce([{ id: 9, title: "add buy milk", created_at: "", updated_at: "" }]);
    api.chat.mockResolvedValue({ conversation_id: 9, response: "Added it.", tool_calls: [] });
    const user = setupUser();
    renderWith(<ChatPanel onTasksChanged={() => {}} />, api);
    await user.type(screen.getByLabelText("Message"), "add buy milk{Enter}");
    await waitFor(() => expect(api.listConversations).toHaveBeenCalledTimes(2));
    answerFirstListing([]); // read before the conversation existed
    expect(await screen.findByRole("option", { name: "add buy milk" })).toBeInTheDocument();
    expect(screen.getByLabelText("Conversation")).toHaveValue("9");
  });

  it("resumes an earlier conversation", async () => {
    const api = fakeApi();
    const user = setupUser();
    renderWith(<ChatPanel onTasksChanged={() => {}} />, api);
    await screen.findByRole("option", { name: "earlier chat" });
    await user.selectOptions(screen.getByLabelText("Conversation"), "3");
    expect(await screen.findByText("Added eggs.")).toBeInTheDocument();
    expect(api.messages).toHaveBeenCalledWith(3);
  });
});

describe("AuthForm", () => {
  it("labels every field and posts, so an early submit keeps the password out of the URL", () => {
    const { container } = render(<AuthForm mode="signup" />);
    for (const label of ["Name", "Email", "Password"]) expect(screen.getByLabelText(label)).toBeInTheDocument();
    expect(container.querySelector("form")).toHaveAttribute("method", "post");
    expect(screen.queryByRole("status")).not.toBeInTheDocument();
  });

  it("says why when the session ended", () => {
    vi.mocked(useSearchParams).mockReturnValue(new URLSearchParams("expired=1") as ReadonlyURLSearchParams);
    render(<AuthForm mode="login" />);
    expect(screen.getByRole("status")).toHaveTextContent("Your session ended");
    expect(screen.queryByLabelText("Name")).not.toBeInTheDocument();
  });
});
