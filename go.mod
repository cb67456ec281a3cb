module github.com/necrostack/necrostack

go 1.24.0

require (
	github.com/dave/jennifer v1.7.1
	github.com/google/uuid v1.6.0
	github.com/redis/go-redis/v9 v9.17.0
	go.uber.org/goleak v1.3.0
	golang.org/x/mod v0.29.0
	golang.org/x/tools v0.38.0
	pgregory.net/rapid v1.3.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sync v0.17.0 // indirect
)

tool github.com/necrostack/necrostack/cmd/necrogen
