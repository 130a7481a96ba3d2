{{/* Environment of each app: settings from the ConfigMap, secrets only through secretKeyRef. */}}

{{- define "todo-app.configRef" -}}
valueFrom:
  configMapKeyRef:
    name: {{ include "todo-app.fullname" .root }}
    key: {{ .key }}
{{- end }}

{{- define "todo-app.secretRef" -}}
valueFrom:
  secretKeyRef:
    name: {{ include "todo-app.secretName" .root }}
    key: {{ .key }}
    {{- if .optional }}
    optional: true
    {{- end }}
{{- end }}

{{- define "todo-app.env.backend" -}}
- name: PORT
  value: {{ .Values.backend.port | quote }}
- name: DATABASE_URL
  {{- include "todo-app.secretRef" (dict "root" . "key" "database-url") | nindent 2 }}
- name: AUTH_JWKS_URL
  {{- include "todo-app.configRef" (dict "root" . "key" "jwks-url") | nindent 2 }}
- name: AUTH_ISSUER
  {{- include "todo-app.configRef" (dict "root" . "key" "frontend-url") | nindent 2 }}
- name: AUTH_AUDIENCE
  {{- include "todo-app.configRef" (dict "root" . "key" "frontend-url") | nindent 2 }}
- name: CHAT_PROVIDER
  {{- include "todo-app.configRef" (dict "root" . "key" "chat-provider") | nindent 2 }}
- name: OPENAI_MODEL
  {{- include "todo-app.configRef" (dict "root" . "key" "chat-model") | nindent 2 }}
- name: OPENAI_BASE_URL
  {{- include "todo-app.configRef" (dict "root" . "key" "chat-base-url") | nindent 2 }}
- name: OPENAI_API_KEY
  {{- include "todo-app.secretRef" (dict "root" . "key" "openai-api-key" "optional" true) | nindent 2 }}
- name: CHAT_RATE_LIMIT
  {{- include "todo-app.configRef" (dict "root" . "key" "chat-rate-limit") | nindent 2 }}
- name: CHAT_RATE_BURST
  {{- include "todo-app.configRef" (dict "root" . "key" "chat-rate-burst") | nindent 2 }}
- name: LOG_LEVEL
  {{- include "todo-app.configRef" (dict "root" . "key" "log-level") | nindent 2 }}
- name: LOG_FORMAT
  value: json
{{- end }}

{{- define "todo-app.env.frontend" -}}
- name: PORT
  value: {{ .Values.frontend.port | quote }}
- name: HOSTNAME
  value: "0.0.0.0"
- name: BACKEND_URL
  {{- include "todo-app.configRef" (dict "root" . "key" "api-url") | nindent 2 }}
- name: BETTER_AUTH_URL
  {{- include "todo-app.configRef" (dict "root" . "key" "frontend-url") | nindent 2 }}
- name: DATABASE_URL
  {{- include "todo-app.secretRef" (dict "root" . "key" "database-url") | nindent 2 }}
- name: BETTER_AUTH_SECRET
  {{- include "todo-app.secretRef" (dict "root" . "key" "better-auth-secret") | nindent 2 }}
{{- end }}

{{/* Writable paths under a read-only root filesystem, each an emptyDir bounded by its size. */}}
{{- define "todo-app.scratch.backend" -}}
- { name: tmp, mountPath: /tmp, sizeLimit: 64Mi }
{{- end }}

{{- define "todo-app.scratch.frontend" -}}
- { name: tmp, mountPath: /tmp, sizeLimit: 64Mi }
- { name: next-cache, mountPath: /app/.next/cache, sizeLimit: 256Mi }
- { name: data, mountPath: /app/data, sizeLimit: 64Mi }
{{- end }}
