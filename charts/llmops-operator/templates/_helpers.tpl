{{- define "llmops-operator.fullname" -}}
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

{{- define "llmops-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "llmops-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llmops-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "llmops-operator.labels" -}}
{{ include "llmops-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: llmops
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "llmops-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "llmops-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Namespaces watched in namespaced scope. */}}
{{- define "llmops-operator.namespaces" -}}
{{- if .Values.watch.namespaces -}}
{{- join "," .Values.watch.namespaces -}}
{{- else -}}
{{- .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{- define "llmops-operator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) -}}
{{- fail (printf "leaderElection.enabled: must be true with replicaCount %d (two active operators would fight over rollouts)" (int .Values.replicaCount)) -}}
{{- end -}}
{{- if and (eq .Values.watch.scope "cluster") .Values.watch.namespaces -}}
{{- fail "watch.namespaces: only used with watch.scope=namespaced" -}}
{{- end -}}
{{- with .Values.leaderElection -}}
{{- if ge (float64 .renewDeadlineSeconds) (float64 .leaseDurationSeconds) -}}
{{- fail (printf "leaderElection.renewDeadlineSeconds: must be shorter than leaderElection.leaseDurationSeconds (%v), so an old leader stops acting before a standby may take over; got %v" .leaseDurationSeconds .renewDeadlineSeconds) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
What the operator does to reconcile a ModelDeployment, and nothing more: read its resource and
write its status; run revisions (Deployments, Services, PVCs) and their autoscalers (HPAs, KEDA
ScaledObjects); weight HTTPRoutes; run load tests (Jobs); read pods; emit Events. Keep in step
with llmops_operator's handlers.
*/}}
{{- define "llmops-operator.workloadRules" -}}
- apiGroups: [llmops.dev]
  resources: [modeldeployments]
  verbs: [get, list, watch, patch, update]
- apiGroups: [llmops.dev]
  resources: [modeldeployments/status]
  verbs: [get, patch, update]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [""]
  resources: [services, persistentvolumeclaims]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
# The gateway's routing table is a ConfigMap the operator writes (the default router).
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, create, patch, update]
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [get, list, watch, patch, update]
- apiGroups: [serving.kserve.io]
  resources: [inferenceservices]
  verbs: [get, patch]
# spec.engine.autoscaling: one HPA or KEDA ScaledObject per revision; listing HPAs also finds
# autoscalers others put on a revision, whose replicas the operator then leaves alone.
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [keda.sh]
  resources: [scaledobjects]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete]
{{- if eq .Values.loadTest.runner "job" }}
# loadTest.runner=job: each gate Job gets its inputs, a verdict ConfigMap and a
# ServiceAccount whose Role may update that one ConfigMap (granted from the rights above).
- apiGroups: [""]
  resources: [configmaps, serviceaccounts]
  verbs: [get, create, update, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, create, update, delete]
{{- end }}
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}

{{/* The operator's image reference (also the default image of the gate Jobs). */}}
{{- define "llmops-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* OTLP/HTTP traces endpoint when `global.tracing.enabled` (empty otherwise): the global
`otlpEndpoint`, else the umbrella's collector of this release. */}}
{{- define "llmops-operator.otlpEndpoint" -}}
{{- $tracing := (.Values.global).tracing | default dict -}}
{{- if $tracing.enabled -}}
{{- $tracing.otlpEndpoint | default (printf "http://%s-otel-collector:4318/v1/traces" (.Release.Name | trunc 50 | trimSuffix "-")) -}}
{{- end -}}
{{- end -}}
