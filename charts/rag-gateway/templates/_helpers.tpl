{{- define "rag-gateway.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "rag-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name another chart of the stack gets in this release (same rule as its fullname helper). */}}
{{- define "rag-gateway.siblingName" -}}
{{- if contains .chart .root.Release.Name -}}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .root.Release.Name .chart | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rag-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rag-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "rag-gateway.labels" -}}
{{ include "rag-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: gateway
app.kubernetes.io/part-of: llmops
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "rag-gateway.inferenceUrl" -}}
{{- default (printf "http://%s:8000/v1" (include "rag-gateway.siblingName" (dict "root" . "chart" "llm-inference"))) .Values.inference.url -}}
{{- end -}}

{{- define "rag-gateway.validate" -}}
{{- if ge (int .Values.rag.chunkOverlap) (int .Values.rag.chunkSize) -}}
{{- fail (printf "rag.chunkOverlap: %d must be smaller than rag.chunkSize %d" (int .Values.rag.chunkOverlap) (int .Values.rag.chunkSize)) -}}
{{- end -}}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) -}}
{{- fail (printf "autoscaling.minReplicas: %d is above autoscaling.maxReplicas %d" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- if and .Values.httpRoute.enabled (not .Values.httpRoute.parentRefs) -}}
{{- fail "httpRoute.parentRefs: name at least one Gateway when httpRoute.enabled is true" -}}
{{- end -}}
{{- end -}}
