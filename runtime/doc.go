// Package runtime is the shared core that every necrogen-generated Spine runs on:
// the Event envelope, the Backend interface, the run loop (Runner) and its
// options, and structured logging through log/slog.
//
// Generated code references SupportPackageIsVersion1, so a generated file and
// the runtime it is compiled against always agree; both live in one module and
// are pinned together by `go get -tool github.com/necrostack/necrostack/cmd/necrogen`.
//
// The core imports only the standard library and github.com/google/uuid.
// Backends live in sub-packages: runtime/memory (in-process FIFO, the default)
// and runtime/redisstream (Redis Streams consumer groups).
package runtime
