"use client";
import { createAuthClient } from "better-auth/react";
import { jwtClient } from "better-auth/client/plugins";

// Same origin: Better Auth lives at /api/auth on this app.
export const authClient = createAuthClient({ plugins: [jwtClient()] });
