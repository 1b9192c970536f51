{{/* The release's prefix for every object name. */}}
{{- define "consentry.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; dict "root" $ "service" name ("" for release-wide objects). */}}
{{- define "consentry.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: consentry
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: consentry
{{- with .service }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* The selector of one service's pods: stable across upgrades, so never the version. */}}
{{- define "consentry.selector" -}}
app.kubernetes.io/name: consentry
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "consentry.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.repository .service (.root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{/*
GOMEMLIMIT: three quarters of the memory limit (deploy/README.md, "Memory"), so the
collector works harder before the kernel kills the pod. Mi and Gi limits are computed;
anything else needs goMemLimit set.
*/}}
{{- define "consentry.gomemlimit" -}}
{{- $svc := .svc -}}
{{- if $svc.goMemLimit -}}
{{- $svc.goMemLimit -}}
{{- else -}}
{{- $mem := toString (required (printf "services.%s.resources.limits.memory is required (GOMEMLIMIT is derived from it)" .service) $svc.resources.limits.memory) -}}
{{- if hasSuffix "Gi" $mem -}}
{{- printf "%dMiB" (div (mul (trimSuffix "Gi" $mem | atoi) 1024 3) 4) -}}
{{- else if hasSuffix "Mi" $mem -}}
{{- printf "%dMiB" (div (mul (trimSuffix "Mi" $mem | atoi) 3) 4) -}}
{{- else -}}
{{- fail (printf "services.%s.resources.limits.memory %q is not in Mi or Gi: set services.%s.goMemLimit" .service $mem .service) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A secretKeyRef env entry; dict "env" NAME "ref" {name,key} "optional" bool. */}}
{{- define "consentry.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "a Secret name for %s" .env) .ref.name }}
      key: {{ required (printf "a Secret key for %s" .env) .ref.key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* The dead-letter topic of a source topic, as platform/kafka.DeadLetterTopic names it. */}}
{{- define "consentry.dlq" -}}
{{- if hasSuffix ".v1" . -}}
{{- printf "%s.dlq.v1" (trimSuffix ".v1" .) -}}
{{- else -}}
{{- printf "%s.dlq" . -}}
{{- end -}}
{{- end -}}
