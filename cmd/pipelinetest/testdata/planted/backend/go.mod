module example.com/planted

go 1.24

require golang.org/x/crypto v0.30.0

require golang.org/x/sys v0.28.0 // indirect
