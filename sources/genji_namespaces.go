package sources

import (
	"fmt"
	"sort"
	"strings"

	"github.com/genjidb/genji"
	"github.com/genjidb/genji/types"
)

// Genji v0.15 allocates the storage namespace of every table and index from the sequence
// __genji_store_seq, created with CACHE 0. With no cache, Sequence.Next persists the lease
// value-1 instead of value, and only a clean Close writes the true current value: after a
// crash the sequence hands out the namespace of the last table or index created before it
// again, and two catalog entries then share one key range (one table's rows appear in the
// other). The store therefore checks, at every open, that no two catalog entries share a
// namespace and moves the sequence past the highest namespace in use, in the same
// transaction that creates the internal tables.

// storeSequence is Genji's sequence of table and index namespaces.
const storeSequence = "__genji_store_seq"

// namespaceCheck is cleared only by tests that reproduce the damage of earlier builds.
var namespaceCheck = true

// namespaceUse is a catalog entry that owns a storage namespace.
type namespaceUse struct {
	name, kind string
	ns         int64
}

// namespaces lists the catalog entries that own a storage namespace.
func namespaces(tx *genji.Tx) ([]namespaceUse, error) {
	res, err := tx.Query("SELECT name, type, namespace FROM __genji_catalog")
	if err != nil {
		return nil, fmt.Errorf("read the storage catalog: %w", err)
	}
	defer res.Close()
	var out []namespaceUse
	err = res.Iterate(func(d types.Document) error {
		var u namespaceUse
		has := false
		if err := d.Iterate(func(field string, v types.Value) error {
			switch field {
			case "name":
				u.name = strings.Clone(types.As[string](v))
			case "type":
				u.kind = strings.Clone(types.As[string](v))
			case "namespace":
				if v.Type() == types.IntegerValue {
					u.ns, has = types.As[int64](v), true
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if has {
			out = append(out, u)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the storage catalog: %w", err)
	}
	return out, nil
}

// checkNamespaces fails if two catalog entries share a namespace, naming them, and moves the
// namespace sequence past the highest namespace in use.
func checkNamespaces(tx *genji.Tx) error {
	uses, err := namespaces(tx)
	if err != nil {
		return err
	}
	sort.Slice(uses, func(i, j int) bool { return uses[i].ns < uses[j].ns })
	var shared []string
	var highest int64
	for i, u := range uses {
		highest = max(highest, u.ns)
		if i > 0 && uses[i-1].ns == u.ns {
			shared = append(shared, fmt.Sprintf("%s %s and %s %s share namespace %d",
				uses[i-1].kind, displayGenjiName(uses[i-1].name), u.kind, displayGenjiName(u.name), u.ns))
		}
	}
	if len(shared) > 0 {
		return fmt.Errorf("the table storage is damaged: %s, so their rows are mixed. "+
			"This happened to data directories written by builds before the fix of crash-safe namespaces "+
			"when a table or index was created after a crash; restore the data directory from a backup",
			strings.Join(shared, "; "))
	}
	for {
		v, err := nextStoreNamespace(tx)
		if err != nil {
			return err
		}
		if v > highest {
			return nil
		}
	}
}

// nextStoreNamespace draws the next value of the namespace sequence.
func nextStoreNamespace(tx *genji.Tx) (int64, error) {
	doc, err := tx.QueryDocument("SELECT NEXT VALUE FOR " + storeSequence)
	if err != nil {
		return 0, fmt.Errorf("advance %s: %w", storeSequence, err)
	}
	var v int64
	err = doc.Iterate(func(_ string, val types.Value) error {
		v = types.As[int64](val)
		return nil
	})
	return v, err
}

// displayGenjiName is a Genji table or index name as the engine's users know it.
func displayGenjiName(g string) string {
	for _, prefix := range []string{"t", "i"} {
		if name, ok := unmangle(prefix, g); ok {
			return "`" + name + "`"
		}
	}
	return g
}

// StoredTableNames lists the names of the user tables in Genji's catalog, byte for byte as
// they were created (the engine's catalog may hold a name its parser has since changed,
// such as invalid UTF-8 replaced by U+FFFD: see the engine's recovery).
func (s *Store) StoredTableNames() ([]string, error) {
	var out []string
	err := s.eachGenjiTable(func(g string) {
		if name, ok := unmangle("t", g); ok {
			out = append(out, name)
		}
	})
	return out, err
}

// eachGenjiTable calls fn with the name of every table in Genji's catalog.
func (s *Store) eachGenjiTable(fn func(gname string)) error {
	tx, err := s.db.Begin(false)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	s.catMu.RLock()
	uses, err := namespaces(tx)
	s.catMu.RUnlock()
	if err != nil {
		return err
	}
	for _, u := range uses {
		if u.kind == "table" {
			fn(u.name)
		}
	}
	return nil
}

// repairIndexOwners gives every index in Genji's catalog cache a copy of its table's name.
// Genji v0.15 loads an index's owner table name (ownerFromDocument) as a string aliasing
// read buffers that later reads reuse, so after a restart the name turns to garbage: the
// table's indexes are then no longer found (a UNIQUE index stops being enforced, DROP INDEX
// fails with "not found"). The names are read again here, copied, and set in place.
func (s *Store) repairIndexOwners(tx *genji.Tx) error {
	res, err := tx.Query("SELECT name, owner.table_name FROM __genji_catalog WHERE type = 'index'")
	if err != nil {
		return fmt.Errorf("read the storage catalog: %w", err)
	}
	owners := map[string]string{}
	err = res.Iterate(func(d types.Document) error {
		var name, owner string
		i := 0
		if err := d.Iterate(func(_ string, v types.Value) error {
			if v.Type() == types.TextValue {
				if i == 0 {
					name = strings.Clone(types.As[string](v))
				} else {
					owner = strings.Clone(types.As[string](v))
				}
			}
			i++
			return nil
		}); err != nil {
			return err
		}
		if name != "" && owner != "" {
			owners[name] = owner
		}
		return nil
	})
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("read the storage catalog: %w", err)
	}
	cat := s.db.DB.Catalog
	for name, owner := range owners {
		info, err := cat.GetIndexInfo(name)
		if err != nil {
			return fmt.Errorf("index %s of the storage catalog: %w", name, err)
		}
		info.Owner.TableName = owner
	}
	return nil
}
