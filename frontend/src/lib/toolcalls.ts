import type { ToolCall } from "./types";

// A readable line for each tool the assistant ran, e.g. "Added task 'buy milk'".
export function describeToolCall(call: ToolCall): string {
  const r = call.result ?? {};
  const args = typeof call.arguments === "object" && call.arguments !== null ? call.arguments : {};
  if (typeof r.error === "string") return `Could not ${verb(call.name)}: ${r.error}`;
  const title = typeof r.title === "string" ? r.title : typeof args.title === "string" ? args.title : "";
  switch (call.name) {
    case "add_task":
      return `Added task '${title}'`;
    case "complete_task":
      return `Completed task '${title}'`;
    case "delete_task":
      return `Deleted task '${title}'`;
    case "update_task":
      return `Updated task '${title}'`;
    case "list_tasks": {
      const count = typeof r.count === "number" ? r.count : Array.isArray(r.tasks) ? r.tasks.length : 0;
      const status = typeof args.status === "string" && args.status !== "all" ? `${args.status} ` : "";
      return `Listed ${count} ${status}task${count === 1 ? "" : "s"}`;
    }
    default:
      return `Ran ${call.name}`;
  }
}

/** Whether a tool call may have changed the task list. */
export function changesTasks(call: ToolCall): boolean {
  return call.name !== "list_tasks" && typeof call.result?.error !== "string";
}

function verb(name: string): string {
  return name.replace(/_task$/, " the task").replace(/_/g, " ");
}
