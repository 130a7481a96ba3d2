"use client";
import { useState } from "react";
import { ApiProvider, SignOutButton } from "./ApiProvider";
import { TaskPanel } from "./TaskPanel";
import { ChatPanel } from "./ChatPanel";

export function TodoApp({ userName }: { userName: string }) {
  const [refreshKey, setRefreshKey] = useState(0);
  return (
    <ApiProvider>
      <header className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-200 bg-white px-4 py-3 sm:px-8">
        <h1 className="text-xl font-bold text-slate-900">todo-app</h1>
        <div className="flex items-center gap-3">
          <span className="text-sm text-slate-600">Signed in as {userName}</span>
          <SignOutButton />
        </div>
      </header>
      <main className="mx-auto grid w-full max-w-6xl gap-4 p-4 sm:p-8 lg:grid-cols-2">
        <TaskPanel refreshKey={refreshKey} />
        <ChatPanel onTasksChanged={() => setRefreshKey((k) => k + 1)} />
      </main>
    </ApiProvider>
  );
}
