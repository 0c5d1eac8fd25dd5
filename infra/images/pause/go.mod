module llmops.dev/infra/images/pause

go 1.22
