import type { Metadata } from "next";
import { AuthForm } from "@/components/AuthForm";

export const metadata: Metadata = { title: "Sign up · todo-app" };

export default function Page() {
  return <AuthForm mode="signup" />;
}
