{{/* Resource name prefix: release name + chart name, unless overridden; 63-char DNS label. */}}
{{- define "llm-inference.fullname" -}}
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

{{- define "llm-inference.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable for the release's lifetime (no chart version, no model revision). */}}
{{- define "llm-inference.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llm-inference.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "llm-inference.labels" -}}
{{ include "llm-inference.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: inference
app.kubernetes.io/part-of: llmops
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
llmops.dev/model: {{ .Values.model.name | quote }}
llmops.dev/revision: {{ .Values.model.revision | quote }}
{{- end -}}

{{/* GPUs per replica: gpu.count, or one per tensor-parallel shard when unset. */}}
{{- define "llm-inference.gpuCount" -}}
{{- if kindIs "invalid" .Values.gpu.count -}}
{{- .Values.engine.tensorParallelSize -}}
{{- else -}}
{{- .Values.gpu.count -}}
{{- end -}}
{{- end -}}

{{/* The URI scheme of model.uri: hf, s3 or pvc. */}}
{{- define "llm-inference.scheme" -}}
{{- regexFind "^[a-z0-9]+" .Values.model.uri -}}
{{- end -}}

{{/* The engine's --model argument. */}}
{{- define "llm-inference.modelArg" -}}
{{- $scheme := include "llm-inference.scheme" . -}}
{{- if eq .Values.mode "kserve" -}}
/mnt/models
{{- else if eq $scheme "hf" -}}
{{- trimPrefix "hf://" .Values.model.uri -}}
{{- else if eq $scheme "pvc" -}}
{{- $rest := trimPrefix "pvc://" .Values.model.uri -}}
{{- printf "/mnt/model-source/%s" (regexReplaceAll "^[^/]+/?" $rest "") | trimSuffix "/" -}}
{{- else -}}
{{- .Values.model.uri -}}
{{- end -}}
{{- end -}}

{{- define "llm-inference.cacheClaim" -}}
{{- default (printf "%s-model-cache" (include "llm-inference.fullname" .)) .Values.modelCache.existingClaim -}}
{{- end -}}

{{/*
Cross-field checks JSON schema cannot express. Each message names the key to change.
*/}}
{{- define "llm-inference.validate" -}}
{{- $tp := int .Values.engine.tensorParallelSize -}}
{{- $gpus := int (include "llm-inference.gpuCount" .) -}}
{{- if and (eq $gpus 0) (gt $tp 1) -}}
{{- fail (printf "gpu.count: 0 runs a CPU build of vLLM as one shard, not engine.tensorParallelSize %d; set engine.tensorParallelSize 1, or gpu.count >= %d" $tp $tp) -}}
{{- else if and (gt $gpus 0) (lt $gpus $tp) -}}
{{- fail (printf "gpu.count: %d GPU(s) cannot hold engine.tensorParallelSize %d (one GPU per shard); set gpu.count >= %d or leave it null" $gpus $tp $tp) -}}
{{- end -}}
{{- $scheme := include "llm-inference.scheme" . -}}
{{- if and .Values.modelCache.prefetch (ne $scheme "hf") -}}
{{- fail (printf "modelCache.prefetch: only hf:// models can be prefetched, model.uri is %s://" $scheme) -}}
{{- end -}}
{{- if and .Values.modelCache.prefetch (not .Values.modelCache.enabled) -}}
{{- fail "modelCache.prefetch: needs modelCache.enabled=true (an emptyDir would be filled twice)" -}}
{{- end -}}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) -}}
{{- fail (printf "autoscaling.minReplicas: %d is above autoscaling.maxReplicas %d" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- if and (eq .Values.autoscaling.mode "keda") (not .Values.autoscaling.kedaPrometheusAddress) -}}
{{- fail "autoscaling.kedaPrometheusAddress: required when autoscaling.mode is keda" -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled .Values.metrics.podMonitor.enabled -}}
{{- fail "metrics.podMonitor.enabled: scrape through either metrics.serviceMonitor or metrics.podMonitor, not both" -}}
{{- end -}}
{{- if and (eq .Values.mode "kserve") .Values.modelCache.prefetch -}}
{{- fail "modelCache.prefetch: not used in kserve mode (KServe's storage initializer downloads model.uri)" -}}
{{- end -}}
{{- if and (eq .Values.mode "kserve") (ne .Values.autoscaling.mode "none") -}}
{{- fail "autoscaling.mode: must be none in kserve mode (KServe scales the InferenceService with minReplicas/maxReplicas)" -}}
{{- end -}}
{{- end -}}

{{/* Container security context: Pod Security "restricted" unless an exception is set. */}}
{{- define "llm-inference.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ not .Values.securityExceptions.writableRootFilesystem }}
runAsNonRoot: {{ not .Values.securityExceptions.runAsRoot }}
{{- if .Values.securityExceptions.runAsRoot }}
runAsUser: 0
{{- end }}
capabilities:
  drop: [ALL]
  {{- with .Values.securityExceptions.addCapabilities }}
  add: {{ toJson . }}
  {{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "llm-inference.podSecurityContext" -}}
runAsNonRoot: {{ not .Values.securityExceptions.runAsRoot }}
runAsUser: {{ ternary 0 .Values.podSecurity.runAsUser .Values.securityExceptions.runAsRoot }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* OTLP/HTTP traces endpoint when `global.tracing.enabled` (empty otherwise): the global
`otlpEndpoint`, else the umbrella's collector of this release. */}}
{{- define "llm-inference.otlpEndpoint" -}}
{{- $tracing := (.Values.global).tracing | default dict -}}
{{- if $tracing.enabled -}}
{{- $tracing.otlpEndpoint | default (printf "http://%s-otel-collector:4318/v1/traces" (.Release.Name | trunc 50 | trimSuffix "-")) -}}
{{- end -}}
{{- end -}}
