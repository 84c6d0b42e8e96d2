using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace BatchGuard.Analyzers;

/// <summary>
/// Where words occur in a compilation's source text, one instance per compilation (<see cref="For(Compilation)"/>): a
/// cheap, conservative test of whether a member or a loop can matter before any of its operations are walked. For the
/// batch-degree model (BG0001-BG0005): a method whose text never says <c>backward</c>,
/// <c>DataLoader</c>, <c>foreach</c> or <c>new(</c> can hold no backward() call, no loader creation and no loop over a loader —
/// unless a using alias renames the loader type, which turns the test off for that file, or for the compilation when
/// the alias is global (<see cref="DataLoaderAliased"/>). For BG0006/BG0007: a loop whose text never says
/// <c>backward</c> is no training loop. Matching is on plain text, so a word in a comment only costs a walk; an identifier
/// spelled with a Unicode escape (<c>back\u0077ard</c>) is not recognised. Each file is scanned the first time one of its members is offered, so no analyzer thread waits for the
/// whole compilation to be scanned.
/// </summary>
internal sealed class SourceMarks
{
    public const string Backward = "backward";
    public const string DataLoader = "DataLoader";
    public const string ForEach = "foreach";
    public const string New = "new";
    /// <summary>A tensor's size, as read to compare a batch with the nominal size (<c>x.shape[0]</c>, <c>x.size(0)</c>).</summary>
    public const string Shape = "shape";
    public const string Size = "size";

    private static readonly ConditionalWeakTable<Compilation, SourceMarks> Shared = new();

    private readonly ConcurrentDictionary<SyntaxTree, TreeMarks> _trees = new();
    private readonly Lazy<bool> _globalAlias;

    /// <summary>The compilation's marks, shared by every analyzer (each file is scanned once per compilation).</summary>
    public static SourceMarks For(Compilation compilation) => Shared.GetValue(compilation, c => new SourceMarks(c));

    private SourceMarks(Compilation compilation)
    {
        _globalAlias = new Lazy<bool>(() => compilation.SyntaxTrees.Any(tree =>
            tree.GetRoot() is CompilationUnitSyntax unit &&
            unit.Usings.Any(u => u.GlobalKeyword.IsKind(SyntaxKind.GlobalKeyword) && IsLoaderAlias(u))));
    }

    /// <summary>A using alias whose target names a DataLoader type (<c>using L = TorchSharp.Modules.DataLoader;</c>).</summary>
    private static bool IsLoaderAlias(UsingDirectiveSyntax directive) =>
        directive.Alias is not null && directive.NamespaceOrType.ToString().Contains(DataLoader);

    /// <summary>A using alias names a DataLoader type (using L = TorchSharp.Modules.DataLoader;): no text test is sound here.</summary>
    public bool DataLoaderAliased(SyntaxTree tree) => _globalAlias.Value || Of(tree).LocalAlias;

    /// <summary>
    /// Whether a target-typed <c>new(...)</c> occurs within <paramref name="span"/>: it creates an object without naming
    /// its type (<c>DataLoader _loader = new(data, 32);</c>), so a loader creation can hide in it.
    /// </summary>
    public bool MentionsTargetTypedNew(SyntaxTree tree, TextSpan span) => TargetTypedNewWithin(Of(tree), span);

    /// <summary>
    /// Whether the batch-degree model can need a block (one look-up of the file's marks): its text says
    /// <c>backward</c>, <c>DataLoader</c> or <c>foreach</c>, or has a target-typed <c>new(...)</c>.
    /// </summary>
    public bool MentionsBatchDegreeWord(SyntaxTree tree, TextSpan span)
    {
        var marks = Of(tree);
        return AnyWithin(marks.Backward, span) || AnyWithin(marks.DataLoader, span) || AnyWithin(marks.ForEach, span) ||
               TargetTypedNewWithin(marks, span);
    }

    private static bool TargetTypedNewWithin(TreeMarks marks, TextSpan span)
    {
        var text = marks.Text;
        var positions = marks.New;
        var i = Array.BinarySearch(positions, span.Start);
        if (i < 0) i = ~i;
        for (; i < positions.Length && positions[i] < span.End; i++)
        {
            var at = positions[i] + New.Length;
            if (positions[i] > 0 && IsIdentifierPart(text[positions[i] - 1])) continue;
            while (at < text.Length && char.IsWhiteSpace(text[at])) at++;
            if (at < text.Length && text[at] == '(') return true;
        }
        return false;
    }

    /// <summary>Whether <paramref name="word"/> occurs in <paramref name="tree"/> within <paramref name="span"/>.</summary>
    public bool Mentions(SyntaxTree tree, string word, TextSpan span) => AnyWithin(Find(tree, word), span);

    /// <summary>Every position of <paramref name="word"/> in the tree's text, ascending (ordinal match).</summary>
    public int[] Find(SyntaxTree tree, string word)
    {
        var marks = Of(tree);
        return word switch
        {
            Backward => marks.Backward,
            DataLoader => marks.DataLoader,
            ForEach => marks.ForEach,
            New => marks.New,
            _ => marks.Words.GetOrAdd(word, w => Positions(marks.Text, w)),
        };
    }

    private TreeMarks Of(SyntaxTree tree) => _trees.GetOrAdd(tree, t => new TreeMarks(t));

    private static int[] Positions(string text, string word)
    {
        // An empty word (a name not typed yet) is found nowhere: IndexOf("") would match at every position, forever.
        if (word.Length == 0) return Array.Empty<int>();
        var found = new List<int>();
        for (var at = text.IndexOf(word, StringComparison.Ordinal); at >= 0; at = text.IndexOf(word, at + word.Length, StringComparison.Ordinal))
            found.Add(at);
        return found.ToArray();
    }

    /// <summary>One file's text and where the three words that decide a walk occur in it.</summary>
    private sealed class TreeMarks
    {
        public TreeMarks(SyntaxTree tree)
        {
            Text = tree.GetText().ToString();
            Backward = Positions(Text, SourceMarks.Backward);
            DataLoader = Positions(Text, SourceMarks.DataLoader);
            ForEach = Positions(Text, SourceMarks.ForEach);
            New = Positions(Text, SourceMarks.New);
            if (DataLoader.Length == 0) return;
            LocalAlias = HasLoaderAlias(tree.GetRoot());
        }

        /// <summary>A using alias in the file (at its top or in a namespace) whose target names a DataLoader type.</summary>
        private static bool HasLoaderAlias(SyntaxNode node)
        {
            SyntaxList<UsingDirectiveSyntax> usings;
            SyntaxList<MemberDeclarationSyntax> members;
            if (node is CompilationUnitSyntax unit) (usings, members) = (unit.Usings, unit.Members);
            else if (node is BaseNamespaceDeclarationSyntax ns) (usings, members) = (ns.Usings, ns.Members);
            else return false;
            foreach (var directive in usings)
            {
                if (IsLoaderAlias(directive)) return true;
            }
            foreach (var member in members)
            {
                if (member is BaseNamespaceDeclarationSyntax && HasLoaderAlias(member)) return true;
            }
            return false;
        }

        public string Text { get; }
        public int[] Backward { get; }
        public int[] DataLoader { get; }
        public int[] ForEach { get; }
        public int[] New { get; }
        public bool LocalAlias { get; }
        /// <summary>Positions of other words (member names), found when a query asks.</summary>
        public ConcurrentDictionary<string, int[]> Words { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>The tokens of <paramref name="node"/> where <paramref name="word"/> occurs (a token may repeat for a word inside a longer one).</summary>
    public IEnumerable<SyntaxToken> Tokens(SyntaxTree tree, string word, SyntaxNode node)
    {
        var positions = Find(tree, word);
        var span = node.Span;
        var i = Array.BinarySearch(positions, span.Start);
        if (i < 0) i = ~i;
        for (; i < positions.Length && positions[i] < span.End; i++) yield return node.FindToken(positions[i]);
    }

    /// <summary>The tokens of <paramref name="node"/> that are the whole word <paramref name="word"/> (an identifier or keyword).</summary>
    public IEnumerable<SyntaxToken> WholeWordTokens(SyntaxTree tree, string word, SyntaxNode node)
    {
        var text = Of(tree).Text;
        var positions = Find(tree, word);
        var span = node.Span;
        var i = Array.BinarySearch(positions, span.Start);
        if (i < 0) i = ~i;
        for (; i < positions.Length && positions[i] < span.End; i++)
        {
            var start = positions[i];
            var end = start + word.Length;
            // Most mentions of a short word are inside longer names (BatchSize): skipped without a look-up.
            if (start > 0 && IsIdentifierPart(text[start - 1]) || end < text.Length && IsIdentifierPart(text[end])) continue;
            var token = node.FindToken(start);
            if (token.ValueText == word) yield return token;
        }
    }

    /// <summary>
    /// The calls and creations within <paramref name="root"/> that can create a loader by their own text: those named by
    /// a token ending in <c>DataLoader</c> (<c>torch.utils.data.DataLoader(...)</c>, <c>new DataLoader&lt;T,S&gt;(...)</c>,
    /// <c>new IterableDataLoader(...)</c>) and every target-typed <c>new(...)</c>; each once, in source order. (Not found
    /// here: a loader type renamed by a using alias, and a subclass constructor's <c>base(...)</c>; callers walk those.)
    /// </summary>
    public List<ExpressionSyntax> LoaderCreationCandidates(SyntaxNode root)
    {
        var tree = root.SyntaxTree;
        var found = new List<ExpressionSyntax>();
        foreach (var token in Tokens(tree, DataLoader, root))
        {
            if (!token.ValueText.EndsWith(DataLoader, StringComparison.Ordinal)) continue;
            for (var node = token.Parent; node is not null && node != root.Parent; node = node.Parent)
            {
                if (node is StatementSyntax or MemberDeclarationSyntax) break;
                if (node is not (InvocationExpressionSyntax or ObjectCreationExpressionSyntax)) continue;
                if (!found.Contains((ExpressionSyntax)node)) found.Add((ExpressionSyntax)node);
                break;
            }
        }
        foreach (var token in Tokens(tree, New, root))
        {
            if (token.IsKind(SyntaxKind.NewKeyword) && token.Parent is ImplicitObjectCreationExpressionSyntax creation && !found.Contains(creation))
                found.Add(creation);
        }
        found.Sort((a, b) => a.SpanStart.CompareTo(b.SpanStart));
        return found;
    }

    /// <summary>
    /// The tokens of <paramref name="node"/> that are the identifier <paramref name="name"/> (whole words only) standing
    /// where the text around them allows a write of a variable: followed by an assignment or another operator, a comma
    /// or a closing parenthesis (a tuple being deconstructed into), a comment or a preprocessor line (either may stand
    /// between the name and its <c>=</c>), or preceded by <c>++</c>/<c>--</c>, <c>ref</c>, <c>out</c> or a comment. A
    /// superset of the written positions (callers check the syntax); most reads (<c>loss.backward()</c>,
    /// <c>x.shape[0]</c>, <c>batch[0]</c>) are skipped without looking the token up.
    /// </summary>
    public IEnumerable<SyntaxToken> PossibleWriteTokens(SyntaxTree tree, string name, SyntaxNode node)
    {
        if (name.Length == 0) yield break;
        var text = Of(tree).Text;
        // Scanned within the node only: a local's name is often one letter, common in the rest of the file.
        var span = node.Span;
        for (var start = text.IndexOf(name, span.Start, span.Length, StringComparison.Ordinal); start >= 0;
             start = start + name.Length >= span.End ? -1 : text.IndexOf(name, start + name.Length, span.End - start - name.Length, StringComparison.Ordinal))
        {
            var end = start + name.Length;
            if (start > 0 && IsIdentifierPart(text[start - 1]) || end < text.Length && IsIdentifierPart(text[end])) continue;
            if (!MayBeWritten(text, start, end)) continue;
            var token = node.FindToken(start);
            if (token.ValueText == name) yield return token;
        }
    }

    private const string CharsAfterAWrittenName = "=+-*/%&|^<>?,)#";

    private static bool MayBeWritten(string text, int start, int end)
    {
        var after = end;
        while (after < text.Length && char.IsWhiteSpace(text[after])) after++;
        if (after < text.Length && CharsAfterAWrittenName.IndexOf(text[after]) >= 0) return true;
        var before = start - 1;
        while (before >= 0 && char.IsWhiteSpace(text[before])) before--;
        if (before >= 0 && text[before] is '+' or '-' or '/') return true;
        return EndsWithWord(text, before, "ref") || EndsWithWord(text, before, "out");
    }

    /// <summary>Whether the text ending at <paramref name="last"/> (inclusive) is the whole word <paramref name="word"/>.</summary>
    private static bool EndsWithWord(string text, int last, string word)
    {
        var first = last - word.Length + 1;
        return first >= 0 && string.CompareOrdinal(text, first, word, 0, word.Length) == 0 && (first == 0 || !IsIdentifierPart(text[first - 1]));
    }

    private static bool IsIdentifierPart(char c) => char.IsLetterOrDigit(c) || c == '_';

    /// <summary>Whether any of the ascending <paramref name="positions"/> lies within <paramref name="span"/>.</summary>
    public static bool AnyWithin(int[] positions, TextSpan span)
    {
        var i = Array.BinarySearch(positions, span.Start);
        if (i < 0) i = ~i;
        return i < positions.Length && positions[i] < span.End;
    }
}
