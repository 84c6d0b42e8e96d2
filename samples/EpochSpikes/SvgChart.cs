using System.Globalization;
using System.Text;

namespace EpochSpikes;

/// <summary>
/// Writes the loss curves as an SVG: one panel per configuration, log-scale loss, dashed lines at epoch boundaries,
/// red circles on the steps the guard flagged. Dependency-free so the sample runs anywhere TorchSharp does.
/// </summary>
internal static class SvgChart
{
    private const int PanelWidth = 440, PanelHeight = 220, Margin = 48, Columns = 2;
    private static readonly string[] Colors = { "#d62728", "#1f77b4", "#ff7f0e", "#2ca02c" };

    public static string Render(IReadOnlyList<RunResult> runs)
    {
        int rows = (runs.Count + Columns - 1) / Columns;
        int width = Columns * (PanelWidth + Margin) + Margin;
        int height = rows * (PanelHeight + Margin + 20) + Margin + 10;
        var svg = new StringBuilder();
        svg.AppendLine(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">"));
        svg.AppendLine(Invariant($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>"));

        svg.AppendLine(Invariant($"<text x=\"{Margin}\" y=\"16\" font-size=\"12\" fill=\"#444\">Training loss per step as optimised (log scale; the guarded run after its repair). Dashed lines: epoch boundaries. Red circles: anomalies flagged by BatchGuard.</text>"));
        for (int i = 0; i < runs.Count; i++)
        {
            int x0 = Margin + (i % Columns) * (PanelWidth + Margin);
            int y0 = Margin + 10 + (i / Columns) * (PanelHeight + Margin + 20);
            Panel(svg, runs[i], Colors[i % Colors.Length], x0, y0);
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static void Panel(StringBuilder svg, RunResult run, string color, int x0, int y0)
    {
        var losses = run.Steps.Select(s => s.OptimizedLoss).Where(l => l > 0 && double.IsFinite(l)).ToList();
        if (losses.Count == 0) return;
        double lo = Math.Log10(losses.Min()), hi = Math.Log10(losses.Max());
        if (hi - lo < 1e-6) hi = lo + 1;
        int n = run.Steps.Count;
        double X(int step) => x0 + (n <= 1 ? 0 : step * (double)PanelWidth / (n - 1));
        double Y(double loss) => y0 + PanelHeight - (Math.Log10(Math.Max(loss, 1e-12)) - lo) / (hi - lo) * PanelHeight;

        svg.AppendLine(Invariant($"<text x=\"{x0}\" y=\"{y0 - 8}\" font-size=\"13\" font-weight=\"bold\">{Escape(run.Name)}: {Escape(run.Title)}</text>"));
        svg.AppendLine(Invariant($"<rect x=\"{x0}\" y=\"{y0}\" width=\"{PanelWidth}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#999\"/>"));
        for (int i = 1; i < n; i++)
        {
            if (run.Steps[i].Epoch != run.Steps[i - 1].Epoch)
                svg.AppendLine(Invariant($"<line x1=\"{X(i):F1}\" y1=\"{y0}\" x2=\"{X(i):F1}\" y2=\"{y0 + PanelHeight}\" stroke=\"#ddd\" stroke-dasharray=\"3,3\"/>"));
        }
        var points = new StringBuilder();
        for (int i = 0; i < n; i++)
        {
            double loss = run.Steps[i].OptimizedLoss;
            if (loss > 0 && double.IsFinite(loss)) points.Append(Invariant($"{X(i):F1},{Y(loss):F1} "));
        }
        svg.AppendLine(Invariant($"<polyline points=\"{points}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.3\"/>"));
        var anomalies = new HashSet<long>(run.AnomalySteps);
        for (int i = 0; i < n; i++)
        {
            if (!anomalies.Contains(run.Steps[i].Step)) continue;
            double loss = run.Steps[i].OptimizedLoss;
            if (loss > 0 && double.IsFinite(loss))
                svg.AppendLine(Invariant($"<circle cx=\"{X(i):F1}\" cy=\"{Y(loss):F1}\" r=\"4\" fill=\"none\" stroke=\"#c00\" stroke-width=\"1.5\"/>"));
        }
        svg.AppendLine(Invariant($"<text x=\"{x0 - 4}\" y=\"{y0 + 10}\" text-anchor=\"end\">{Math.Pow(10, hi):G3}</text>"));
        svg.AppendLine(Invariant($"<text x=\"{x0 - 4}\" y=\"{y0 + PanelHeight}\" text-anchor=\"end\">{Math.Pow(10, lo):G3}</text>"));
        svg.AppendLine(Invariant($"<text x=\"{x0}\" y=\"{y0 + PanelHeight + 14}\">step 0</text>"));
        svg.AppendLine(Invariant($"<text x=\"{x0 + PanelWidth}\" y=\"{y0 + PanelHeight + 14}\" text-anchor=\"end\">step {n - 1}</text>"));
    }

    private static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
