"""Perception-distortion plots (matplotlib, Agg backend; imported only when a site is built)."""

from __future__ import annotations

from pathlib import Path

from srbench.report.data import Table


def pd_axes(table: Table) -> tuple[str, str] | None:
    """(distortion metric, perception metric) names for a table, or None when it lacks them."""
    names = [m.name for m in table.metrics]
    psnr = next((n for n in ("psnr_y", "psnr") if n in names), None)
    psnr = psnr or next((n for n in names if n.startswith("psnr")), None)
    perc = next((n for n in ("pi", "lpips") if n in names), None)
    if psnr is None or perc is None:
        return None
    return psnr, perc


def pd_points(table: Table, axes: tuple[str, str]) -> list[tuple[str, float, float]]:
    """(method, perception value, distortion value) for methods with both cells current and complete."""
    psnr, perc = axes
    out = []
    for row in table.rows:
        a, b = row.cells.get(psnr), row.cells.get(perc)
        if a is not None and b is not None and a.rankable and b.rankable:
            out.append((row.method, b.number, a.number))
    return out


def pd_plot(table: Table, png: Path, svg: Path) -> dict | None:
    """Write the PNG and SVG plot; returns {"x", "y", "n", "excluded"} or None when not drawable."""
    axes = pd_axes(table)
    if axes is None:
        return None
    points = pd_points(table, axes)
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    psnr, perc = axes
    meta = {m.name: m for m in table.metrics}
    fig, ax = plt.subplots(figsize=(5.6, 4.2), dpi=100)
    try:
        xs = [p[1] for p in points]
        ys = [p[2] for p in points]
        ax.scatter(xs, ys, s=28, color="#1f5fa8", zorder=3)
        for i, (name, x, y) in enumerate(points):
            ax.annotate(name, (x, y), xytext=(5, 4 if i % 2 == 0 else -10), textcoords="offset points",
                        fontsize=8)
        ax.set_xlabel(f"{perc} {meta[perc].arrow}  (perception{', lower is better' if meta[perc].higher_is_better is False else ''})")
        ax.set_ylabel(f"{psnr} {meta[psnr].arrow}  (distortion, dB)")
        ax.set_title(f"{table.dataset} ×{table.scale} ({table.protocol}): perception–distortion", fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.margins(0.15)
        if meta[perc].higher_is_better is False:
            ax.text(0.02, 0.97, "better ↖", transform=ax.transAxes, fontsize=8, va="top", color="#555")
        fig.tight_layout()
        png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(png, format="png", metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)
    return {"x": perc, "y": psnr, "n": len(points), "excluded": len(table.rows) - len(points)}
