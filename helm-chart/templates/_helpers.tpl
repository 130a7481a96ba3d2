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
{{- with .image.digest }}{{ $ref = printf "%s@%s" $ref . }}{{ end }}
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

{{- define "todo-app.postgresqlHeadlessName" -}}
{{- printf "%s-hl" (include "todo-app.postgresqlName" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Whether the chart runs PostgreSQL in the cluster: postgresql.enabled, and no
secrets.databaseUrl given (a URL that is given means that database).
*/}}
{{- define "todo-app.postgresqlDeployed" -}}
{{- if and .Values.postgresql.enabled (not .Values.secrets.databaseUrl) }}true{{ end }}
{{- end }}

{{/*
A secret the chart may generate: the value given, else the one the release's
Secret already holds under key (so helm upgrade keeps it), else a new random
one. Written back into the values, so every template of one render (and the
checksum of the Secret) sees the same. Call with (dict "root" $ "values" MAP
"field" NAME "key" SECRET-KEY).
*/}}
{{- define "todo-app.keptOrGenerated" -}}
{{- if not (index .values .field) }}
{{- $secret := lookup "v1" "Secret" .root.Release.Namespace (include "todo-app.secretName" .root) }}
{{- $kept := dig "data" .key "" ($secret | default dict) }}
{{- $_ := set .values .field (ternary (b64dec $kept) (randAlphaNum 48) (ne $kept "")) }}
{{- end }}
{{- index .values .field }}
{{- end }}

{{- define "todo-app.postgresqlPassword" -}}
{{- include "todo-app.keptOrGenerated" (dict "root" . "values" .Values.postgresql.auth "field" "password" "key" "postgresql-password") }}
{{- end }}

{{- define "todo-app.betterAuthSecret" -}}
{{- include "todo-app.keptOrGenerated" (dict "root" . "values" .Values.secrets "field" "betterAuthSecret" "key" "better-auth-secret") }}
{{- end }}

{{/* The database URL the chart puts in its Secret, with clear errors when it cannot. */}}
{{- define "todo-app.databaseUrl" -}}
{{- if .Values.secrets.databaseUrl }}
{{- .Values.secrets.databaseUrl }}
{{- else if .Values.postgresql.enabled }}
{{- printf "postgres://%s:%s@%s:5432/%s?sslmode=disable" .Values.postgresql.auth.username (include "todo-app.postgresqlPassword" . | urlquery) (include "todo-app.postgresqlName" .) .Values.postgresql.auth.database }}
{{- else }}
{{- fail "secrets.databaseUrl is required: set it, enable postgresql, or give secrets.existingSecret" }}
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
