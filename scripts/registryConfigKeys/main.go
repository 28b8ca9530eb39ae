// Command registryConfigKeys lists every key path that one release of distribution (the
// registry) reads from its config.yml, as JSON on stdout. scripts/registryConfigKeys.sh builds
// it against each release's own source and commits the output as a test fixture, because the
// registry ignores a key it does not know without a word: a misspelt or wrong-release key
// would otherwise change nothing and go unnoticed.
//
// Two sources, each read the way the registry itself reads it:
//   - configuration.Configuration, by reflection, with gopkg.in/yaml.v2's rules (the yaml tag's
//     name, else the lower-cased field name; ",inline"; "-"). The shim that the script writes
//     beside this file hands the type over as configurationType, so one program serves both
//     releases (their import paths differ).
//   - storage: a free-form map in that struct (map[string]Parameters). Its driver's section
//     and its special sections (delete, redirect, cache, maintenance, tag: the cases of
//     Storage.UnmarshalYAML) are read by Go code, not by yaml, so their keys come from a walk
//     of that code's syntax: every string-literal index of the map, followed through local
//     variables, type assertions and calls within the same package.
//
// Paths: keys joined by ".", "[]" after a list of mappings, "*" for any one key of a
// free-form map, "**" (last) for any keys below, at any depth. Builds with Go 1.19 (Debian 12's,
// for 2.8's GOPATH tree) and newer, so it uses no newer library.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// What the fixture says about itself; the paths are the point.
type fixture struct {
	Registry string            `json:"registry"`
	Source   map[string]string `json:"source"`
	Notation string            `json:"notation"`
	Keys     []string          `json:"keys"`
}

const notation = `"." joins keys; "[]" is each item of a list of mappings; "*" is any one key of a free-form map; "**" (last) is any keys below, at any depth. Storage lists only the drivers named in "source.drivers".`

// Drivers whose parameters are listed, by directory under registry/storage/driver. The
// program renders no other; another driver's section is reported as unknown.
var driverDirs = []string{"filesystem", "s3-aws"}

func main() {
	sourceDir := flag.String("source", "", "root of the distribution source tree")
	registry := flag.String("registry", "", `what the keys belong to, e.g. "distribution 2.8.2"`)
	sources := sourceFlags{}
	flag.Var(&sources, "from", "name=value recorded in the fixture's source (repeatable)")
	flag.Parse()
	if *sourceDir == "" || *registry == "" {
		fail("usage: registryConfigKeys -source DIR -registry NAME [-from name=value]...")
	}

	keys := map[string]bool{}
	structKeys(configurationType, "", keys, map[reflect.Type]bool{})
	storageKeys(*sourceDir, keys)
	sources["drivers"] = strings.Join(driverNames(*sourceDir), ",")

	out := fixture{Registry: *registry, Source: sources, Notation: notation, Keys: sorted(keys)}
	encoded, err := json.MarshalIndent(out, "", "  ")
	check(err)
	fmt.Println(string(encoded))
}

// ---- the configuration struct, by reflection --------------------------------------------

var unmarshaler = reflect.TypeOf((*interface {
	UnmarshalYAML(func(interface{}) error) error
})(nil)).Elem()

// typeKeys adds the paths that a value of type t at path reads.
func typeKeys(t reflect.Type, path string, keys map[string]bool, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// Storage is a map only to yaml; the registry's code gives its sections meaning (below).
	if t == storageType() {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if isCustom(t) {
			// A struct that unmarshals itself (time.Time, say) is read as one value.
			keys[path] = true
			return
		}
		structKeys(t, path, keys, seen)
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			keys[join(path, "**")] = true
			return
		}
		typeKeys(t.Elem(), join(path, "*"), keys, seen)
	case reflect.Slice, reflect.Array:
		if isCollection(t.Elem()) {
			typeKeys(t.Elem(), path+"[]", keys, seen)
			return
		}
		keys[path] = true
	case reflect.Interface:
		keys[path] = true
		keys[join(path, "**")] = true
	default:
		keys[path] = true
	}
}

// structKeys adds a struct's fields, named as gopkg.in/yaml.v2 names them.
func structKeys(t reflect.Type, path string, keys map[string]bool, seen map[reflect.Type]bool) {
	if seen[t] {
		fail("recursive type %s at %q", t, path)
	}
	seen[t] = true
	defer delete(seen, t)
	for i := 0; i < t.NumField(); i++ {
		field := t.Field(i)
		if field.PkgPath != "" && !field.Anonymous {
			continue // unexported: yaml skips it
		}
		name, options := splitTag(field.Tag.Get("yaml"))
		if name == "-" {
			continue
		}
		if field.PkgPath != "" {
			fail("unexported embedded field %s in %s: yaml.v2's treatment is not modelled", field.Name, t)
		}
		if hasOption(options, "inline") {
			if field.Type.Kind() != reflect.Struct {
				fail("inline %s in %s: only inline structs are modelled", field.Type, t)
			}
			structKeys(field.Type, path, keys, seen)
			continue
		}
		if name == "" {
			name = strings.ToLower(field.Name)
		}
		typeKeys(field.Type, join(path, name), keys, seen)
	}
}

func isCustom(t reflect.Type) bool {
	return t.Implements(unmarshaler) || reflect.PtrTo(t).Implements(unmarshaler)
}

func isCollection(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct || t.Kind() == reflect.Map || t.Kind() == reflect.Interface
}

func storageType() reflect.Type {
	field, ok := configurationType.FieldByName("Storage")
	if !ok {
		fail("Configuration has no Storage field")
	}
	return field.Type
}

// ---- storage, from the code that reads it ------------------------------------------------

func storageKeys(sourceDir string, keys map[string]bool) {
	configuration := parseDir(filepath.Join(sourceDir, "configuration"))
	sections := storageSections(configuration)

	reads := newReads(parseDir(filepath.Join(sourceDir, "registry", "handlers")))
	reads.sectionRoots = sections
	reads.sectionMethods = storageMethods(configuration, sections)
	reads.walkAll()
	for section := range sections {
		if !reads.sawSection[section] {
			fail("no code in registry/handlers reads storage.%s", section)
		}
	}
	reads.addTo(keys)

	for _, dir := range driverDirs {
		driver := parseDir(filepath.Join(sourceDir, "registry", "storage", "driver", dir))
		driverReads := newReads(driver)
		fromParameters := driverReads.funcs["FromParameters"]
		if fromParameters == nil {
			fail("driver %s has no FromParameters", dir)
		}
		names := registeredNames(driver)
		for _, name := range names {
			driverReads.walk(fromParameters, bindings{paths: map[string]string{mapParam(fromParameters): "storage." + name}})
		}
		if len(driverReads.found) == 0 {
			fail("driver %s: FromParameters reads no parameter", dir)
		}
		driverReads.addTo(keys)
	}
}

// storageSections: the keys of the storage map that are not a driver, the string cases of
// Storage.UnmarshalYAML (which lets them stand beside the one driver).
func storageSections(files []*ast.File) map[string]bool {
	sections := map[string]bool{}
	for _, decl := range funcDecls(files) {
		if decl.Name.Name != "UnmarshalYAML" || receiverType(decl) != "Storage" {
			continue
		}
		ast.Inspect(decl.Body, func(node ast.Node) bool {
			if clause, ok := node.(*ast.CaseClause); ok {
				for _, expr := range clause.List {
					if value, ok := stringLiteral(expr); ok {
						sections[value] = true
					}
				}
			}
			return true
		})
	}
	if len(sections) == 0 {
		fail("Storage.UnmarshalYAML names no special section")
	}
	return sections
}

// storageMethods: Storage's methods that return one section (`return storage["tag"]`).
func storageMethods(files []*ast.File, sections map[string]bool) map[string]string {
	methods := map[string]string{}
	for _, decl := range funcDecls(files) {
		if receiverType(decl) != "Storage" || decl.Body == nil || len(decl.Body.List) != 1 {
			continue
		}
		ret, ok := decl.Body.List[0].(*ast.ReturnStmt)
		if !ok || len(ret.Results) != 1 {
			continue
		}
		if index, ok := ret.Results[0].(*ast.IndexExpr); ok {
			if section, ok := stringLiteral(index.Index); ok && sections[section] {
				methods[decl.Name.Name] = section
			}
		}
	}
	return methods
}

// driverNames: every name the listed drivers register under (s3-aws registers "s3" too).
func driverNames(sourceDir string) []string {
	var names []string
	for _, dir := range driverDirs {
		names = append(names, registeredNames(parseDir(filepath.Join(sourceDir, "registry", "storage", "driver", dir)))...)
	}
	sort.Strings(names)
	return names
}

// registeredNames: the names in `factory.Register(name, ...)`, literals or string constants.
func registeredNames(files []*ast.File) []string {
	constants := stringConstants(files)
	var names []string
	for _, file := range files {
		ast.Inspect(file, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 || selectorName(call.Fun) != "factory.Register" {
				return true
			}
			if name, ok := stringLiteral(call.Args[0]); ok {
				names = append(names, name)
			} else if ident, ok := call.Args[0].(*ast.Ident); ok && constants[ident.Name] != "" {
				names = append(names, constants[ident.Name])
			} else {
				fail("factory.Register with a name that is not a string constant")
			}
			return true
		})
	}
	if len(names) == 0 {
		fail("a driver registers no name")
	}
	sort.Strings(names)
	return names
}

// ---- following a map's string keys through code -------------------------------------------

// bindings: what local names stand for during a walk: a key path, or a string literal.
type bindings struct {
	paths    map[string]string
	literals map[string]string
}

type reads struct {
	funcs          map[string]*ast.FuncDecl
	sectionRoots   map[string]bool   // `<x>.Storage["delete"]` starts storage.delete
	sectionMethods map[string]string // `<x>.Storage.TagParameters()` starts storage.tag
	sawSection     map[string]bool
	found          map[string]bool
	walked         map[string]bool
}

func newReads(files []*ast.File) *reads {
	r := &reads{funcs: map[string]*ast.FuncDecl{}, sawSection: map[string]bool{}, found: map[string]bool{}, walked: map[string]bool{}}
	for _, decl := range funcDecls(files) {
		if decl.Recv == nil && decl.Body != nil {
			r.funcs[decl.Name.Name] = decl
		}
	}
	for _, decl := range funcDecls(files) {
		if decl.Recv != nil && decl.Body != nil {
			r.funcs[receiverType(decl)+"."+decl.Name.Name] = decl
		}
	}
	return r
}

// addTo adds the keys found, less those only read to reach deeper ones
// (storage.maintenance.uploadpurging is a section: its leaves are what is read).
func (r *reads) addTo(keys map[string]bool) {
	for key := range r.found {
		if !r.isSection(key) {
			keys[key] = true
		}
	}
}

func (r *reads) isSection(key string) bool {
	for other := range r.found {
		if strings.HasPrefix(other, key+".") {
			return true
		}
	}
	return false
}

func (r *reads) walkAll() {
	names := make([]string, 0, len(r.funcs))
	for name := range r.funcs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r.walk(r.funcs[name], bindings{})
	}
}

// walk records the keys that decl reads from the maps its names are bound to, in source
// order, rebinding a name at each assignment (the last one before a use wins).
func (r *reads) walk(decl *ast.FuncDecl, initial bindings) {
	memo := fmt.Sprintf("%p %v %v", decl, initial.paths, initial.literals)
	if r.walked[memo] {
		return
	}
	r.walked[memo] = true
	env := bindings{paths: copyMap(initial.paths), literals: copyMap(initial.literals)}

	var visit func(node ast.Node) bool
	visit = func(node ast.Node) bool {
		switch n := node.(type) {
		case *ast.AssignStmt:
			for _, rhs := range n.Rhs {
				ast.Inspect(rhs, visit)
			}
			r.bind(n, env)
			return false
		case *ast.IndexExpr:
			if key, ok := r.key(n.Index, env); ok {
				if path, ok := r.resolve(n.X, env); ok {
					r.found[path+"."+key] = true
				}
			} else if _, ok := r.resolve(n.X, env); ok {
				fail("%s: a key read from a bound map that is not a string literal", decl.Name.Name)
			}
		case *ast.CallExpr:
			r.follow(n, env)
		}
		return true
	}
	ast.Inspect(decl.Body, visit)
}

// bind: `v := m["k"]`, `v, ok := m["k"]`, `x, ok = v.(T)` bind the first name to the path;
// any other assignment unbinds its names.
func (r *reads) bind(assign *ast.AssignStmt, env bindings) {
	for i, lhs := range assign.Lhs {
		ident, ok := lhs.(*ast.Ident)
		if !ok {
			continue
		}
		delete(env.paths, ident.Name)
		delete(env.literals, ident.Name)
		var rhs ast.Expr
		if len(assign.Rhs) == len(assign.Lhs) {
			rhs = assign.Rhs[i]
		} else if i == 0 && len(assign.Rhs) == 1 {
			rhs = assign.Rhs[0]
		}
		if rhs == nil {
			continue
		}
		if path, ok := r.resolve(rhs, env); ok {
			env.paths[ident.Name] = path
		}
	}
}

// follow walks a function of the same package that is handed a bound map, with its
// parameters bound to what the call passes (`getParameterAsBool(parameters, "secure", true)`).
func (r *reads) follow(call *ast.CallExpr, env bindings) {
	callee := r.callee(call.Fun)
	if callee == nil {
		return
	}
	params := paramNames(callee)
	next := bindings{paths: map[string]string{}, literals: map[string]string{}}
	for i, arg := range call.Args {
		if i >= len(params) {
			break
		}
		if path, ok := r.resolve(arg, env); ok {
			next.paths[params[i]] = path
		} else if value, ok := r.key(arg, env); ok {
			next.literals[params[i]] = value
		}
	}
	if len(next.paths) > 0 {
		r.walk(callee, next)
	}
}

func (r *reads) callee(fun ast.Expr) *ast.FuncDecl {
	switch f := fun.(type) {
	case *ast.Ident:
		return r.funcs[f.Name]
	case *ast.IndexExpr: // a generic function instantiated: f[T](...)
		return r.callee(f.X)
	case *ast.IndexListExpr:
		return r.callee(f.X)
	}
	return nil
}

// resolve: the key path an expression stands for, if any.
func (r *reads) resolve(expr ast.Expr, env bindings) (string, bool) {
	switch e := expr.(type) {
	case *ast.Ident:
		path, ok := env.paths[e.Name]
		return path, ok
	case *ast.ParenExpr:
		return r.resolve(e.X, env)
	case *ast.TypeAssertExpr:
		return r.resolve(e.X, env)
	case *ast.IndexExpr:
		key, ok := r.key(e.Index, env)
		if !ok {
			return "", false
		}
		if isStorageField(e.X) && r.sectionRoots[key] {
			r.sawSection[key] = true
			return "storage." + key, true
		}
		if path, ok := r.resolve(e.X, env); ok {
			return path + "." + key, true
		}
	case *ast.CallExpr:
		if method, ok := e.Fun.(*ast.SelectorExpr); ok && isStorageField(method.X) {
			if section, ok := r.sectionMethods[method.Sel.Name]; ok {
				r.sawSection[section] = true
				return "storage." + section, true
			}
		}
	}
	return "", false
}

func (r *reads) key(expr ast.Expr, env bindings) (string, bool) {
	if value, ok := stringLiteral(expr); ok {
		return value, true
	}
	if ident, ok := expr.(*ast.Ident); ok {
		value, ok := env.literals[ident.Name]
		return value, ok
	}
	return "", false
}

func isStorageField(expr ast.Expr) bool {
	selector, ok := expr.(*ast.SelectorExpr)
	return ok && selector.Sel.Name == "Storage"
}

// ---- syntax helpers ----------------------------------------------------------------------

func parseDir(dir string) []*ast.File {
	entries, err := os.ReadDir(dir)
	check(err)
	var files []*ast.File
	for _, entry := range entries {
		name := entry.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, 0)
		check(err)
		files = append(files, file)
	}
	if len(files) == 0 {
		fail("no Go source in %s", dir)
	}
	return files
}

func funcDecls(files []*ast.File) []*ast.FuncDecl {
	var decls []*ast.FuncDecl
	for _, file := range files {
		for _, decl := range file.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok {
				decls = append(decls, fn)
			}
		}
	}
	return decls
}

func receiverType(decl *ast.FuncDecl) string {
	if decl.Recv == nil || len(decl.Recv.List) == 0 {
		return ""
	}
	t := decl.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	if ident, ok := t.(*ast.Ident); ok {
		return ident.Name
	}
	return ""
}

func paramNames(decl *ast.FuncDecl) []string {
	var names []string
	for _, field := range decl.Type.Params.List {
		for _, name := range field.Names {
			names = append(names, name.Name)
		}
		if len(field.Names) == 0 {
			names = append(names, "_")
		}
	}
	return names
}

// mapParam: the name of a function's one map parameter (the driver's parameters).
func mapParam(decl *ast.FuncDecl) string {
	var found []string
	for _, field := range decl.Type.Params.List {
		if _, ok := field.Type.(*ast.MapType); ok {
			for _, name := range field.Names {
				found = append(found, name.Name)
			}
		}
	}
	if len(found) != 1 {
		fail("%s takes %d map parameters, not one", decl.Name.Name, len(found))
	}
	return found[0]
}

func stringConstants(files []*ast.File) map[string]string {
	constants := map[string]string{}
	for _, file := range files {
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				value := spec.(*ast.ValueSpec)
				for i, name := range value.Names {
					if i < len(value.Values) {
						if literal, ok := stringLiteral(value.Values[i]); ok {
							constants[name.Name] = literal
						}
					}
				}
			}
		}
	}
	return constants
}

func selectorName(expr ast.Expr) string {
	selector, ok := expr.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	if ident, ok := selector.X.(*ast.Ident); ok {
		return ident.Name + "." + selector.Sel.Name
	}
	return ""
}

func stringLiteral(expr ast.Expr) (string, bool) {
	literal, ok := expr.(*ast.BasicLit)
	if !ok || literal.Kind != token.STRING {
		return "", false
	}
	value, err := strconv.Unquote(literal.Value)
	return value, err == nil
}

// ---- small things --------------------------------------------------------------------------

type sourceFlags map[string]string

func (s *sourceFlags) String() string { return fmt.Sprint(map[string]string(*s)) }

func (s *sourceFlags) Set(value string) error {
	name, text, ok := strings.Cut(value, "=")
	if !ok {
		return fmt.Errorf("want name=value, got %q", value)
	}
	(*s)[name] = text
	return nil
}

func splitTag(tag string) (string, []string) {
	parts := strings.Split(tag, ",")
	return parts[0], parts[1:]
}

func hasOption(options []string, option string) bool {
	for _, o := range options {
		if o == option {
			return true
		}
	}
	return false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sorted(set map[string]bool) []string {
	list := make([]string, 0, len(set))
	for key := range set {
		list = append(list, key)
	}
	sort.Strings(list)
	return list
}

func copyMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "registryConfigKeys: "+format+"\n", args...)
	os.Exit(1)
}
