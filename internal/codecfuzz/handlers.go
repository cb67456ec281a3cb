package codecfuzz

// The handlers make the types payloads; they do nothing.

//necro:listens SCALARS
func HandleScalars(Scalars) {}

//necro:listens TAGGED
func HandleTagged(Tagged) {}

//necro:listens CONTAINERS
func HandleContainers(Containers) {}

//necro:listens EMBEDDING
func HandleEmbedding(Embedding) {}

//necro:listens TREE
func HandleTree(Tree) {}

//necro:listens CUSTOM
func HandleCustom(Custom) {}

//necro:listens BATCH
func HandleBatch(Batch) {}

//necro:listens COUNTS
func HandleCounts(Counts) {}

//necro:listens STAMP
func HandleStamp(Stamp) {}

//necro:listens SETTABLE
func HandleSettable(Settable) {}

//necro:listens PTR_MARSHALS
func HandlePtrMarshals(PtrMarshals) {}

//necro:listens ORDER
func HandleOrder(Order) {}
