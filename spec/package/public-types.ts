/**
 * Finds the types a package's public declarations use but do not export: a user can see them in an
 * editor yet cannot name them (`TokenAt` in `audit.tokenAt()`'s result, say). Walks the emitted
 * `.d.ts` files from the entry point, following every type reference that resolves inside the
 * package, so inferred types that only the emitted declarations spell out are covered too.
 */
import { dirname, relative, sep } from 'node:path';
import ts from 'typescript';

export interface UnexportedType {
  name: string;
  /** Declaration file, relative to the entry's folder. */
  file: string;
  /** The exported declaration through which it is reached. */
  via: string;
}

export function unexportedPublicTypes(entry: string): UnexportedType[] {
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const root = dirname(entry) + sep;
  const resolve = (symbol: ts.Symbol): ts.Symbol =>
    symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const ownFile = (declaration: ts.Declaration): string | undefined => {
    const file = declaration.getSourceFile().fileName;
    return file.startsWith(root) ? relative(root, file) : undefined;
  };

  const source = program.getSourceFile(entry);
  const module = source && checker.getSymbolAtLocation(source);
  if (!module) throw new Error(`no module at ${entry}`);
  const exported = new Set(checker.getExportsOfModule(module).map(resolve));

  const missing = new Map<string, UnexportedType>();
  const seen = new Set<ts.Symbol>(exported);
  const queue = [...exported].map((symbol) => ({ symbol, via: symbol.getName() }));
  const referenced = (node: ts.Node): ts.Node | undefined => {
    if (ts.isTypeReferenceNode(node)) return node.typeName;
    if (ts.isExpressionWithTypeArguments(node)) return node.expression;
    if (ts.isTypeQueryNode(node)) return node.exprName;
    if (ts.isImportTypeNode(node)) return node.qualifier;
    return undefined;
  };

  for (let item = queue.shift(); item; item = queue.shift()) {
    const { via } = item;
    const visit = (node: ts.Node): void => {
      const name = referenced(node);
      const found = name && checker.getSymbolAtLocation(name);
      if (found) {
        const symbol = resolve(found);
        const declaration = symbol.declarations?.[0];
        const file = declaration && ownFile(declaration);
        const isTypeParameter = (symbol.flags & ts.SymbolFlags.TypeParameter) !== 0;
        if (file !== undefined && !isTypeParameter && !seen.has(symbol)) {
          seen.add(symbol);
          missing.set(`${file}:${symbol.getName()}`, { name: symbol.getName(), file, via });
          queue.push({ symbol, via });
        }
      }
      ts.forEachChild(node, visit);
    };
    for (const declaration of item.symbol.declarations ?? []) {
      if (ownFile(declaration) !== undefined) visit(declaration);
    }
  }
  return [...missing.values()].sort((a, b) => a.name.localeCompare(b.name));
}
