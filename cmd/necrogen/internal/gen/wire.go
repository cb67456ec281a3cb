package gen

// checkWire is filled in below.
func checkWire(m *pkgModel, d *diags) {}
