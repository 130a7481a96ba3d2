{{/* Chart name, truncated to the 63 characters DNS labels allow. */}}
{{- define "todo-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart unless the release name already contains it. */}}
{{- define "todo-app.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "todo-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "todo-app.labels" -}}
helm.sh/chart: {{ include "todo-app.chart" . }}
{{ include "todo-app.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: todo-app
{{- end }}

{{- define "todo-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "todo-app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels and selector labels of one component; call with (dict "root" $ "component" "backend"). */}}
{{- define "todo-app.componentLabels" -}}
{{ include "todo-app.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "todo-app.componentSelectorLabels" -}}
{{ include "todo-app.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "todo-app.componentName" -}}
{{- printf "%s-%s" (include "todo-app.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Image tag: the component's tag, else the chart's appVersion. */}}
{{- define "todo-app.imageTag" -}}
{{- .image.tag | default .root.Chart.AppVersion }}
{{- end }}

{{/* Full image reference with the optional global registry; call with (dict "root" $ "image" .Values.backend.image). */}}
{{- define "todo-app.image" -}}
{{- $registry := .root.Values.global.imageRegistry | trimSuffix "/" }}
{{- $ref := printf "%s:%s" .image.repository (include "todo-app.imageTag" .) }}
{{- if $registry }}{{ printf "%s/%s" $registry $ref }}{{ else }}{{ $ref }}{{ end }}
{{- end }}

{{- define "todo-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "todo-app.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding database-url, better-auth-secret and openai-api-key. */}}
{{- define "todo-app.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "todo-app.fullname" .) }}
{{- end }}

{{- define "todo-app.postgresqlName" -}}
{{- printf "%s-postgresql" (include "todo-app.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The database URL the chart puts in its Secret, with clear errors when it cannot. */}}
{{- define "todo-app.databaseUrl" -}}
{{- if .Values.postgresql.enabled }}
{{- $pw := required "postgresql.auth.password is required when postgresql.enabled=true (e.g. --set postgresql.auth.password=...)" .Values.postgresql.auth.password }}
{{- printf "postgres://%s:%s@%s:5432/%s?sslmode=disable" .Values.postgresql.auth.username (urlquery $pw) (include "todo-app.postgresqlName" .) .Values.postgresql.auth.database }}
{{- else }}
{{- required "secrets.databaseUrl is required: set it, enable postgresql, or give secrets.existingSecret" .Values.secrets.databaseUrl }}
{{- end }}
{{- end }}

{{/* The app's public URL: publicURL, else the ingress host with the right scheme. */}}
{{- define "todo-app.publicURL" -}}
{{- if .Values.publicURL }}
{{- .Values.publicURL | trimSuffix "/" }}
{{- else }}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.host }}
{{- end }}
{{- end }}
