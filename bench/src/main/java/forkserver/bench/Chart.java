package forkserver.bench;

import forkserver.bench.Model.Family;
import forkserver.bench.Scale.Point;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.Marker;
import org.knowm.xchart.style.markers.SeriesMarkers;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The charts, for a person to read at a glance: one colour per family of models, dots or lines on
 * logarithmic axes (the models differ by orders of magnitude, and a bar's length from an arbitrary
 * base would mean nothing), each panel saying whether lower or higher is better.
 *
 * <ul>
 *   <li>{@link #models}: dot plots (a row per model, grouped by family) of the first echo, the CPU
 *       per session, the round trip on a held connection and the sessions per second;</li>
 *   <li>{@link #scale}: the scale ladder, a line per model against connections held (XChart);</li>
 *   <li>the reference servers (tcpserver, systemd) in their own dot plots, beside Java's process models.</li>
 * </ul>
 */
final class Chart {

    static final Map<Family, Color> COLOURS = new EnumMap<>(Map.of(
            Family.JAVA_PROCESS, new Color(0xC0392B),
            Family.JAVA_ONE_PROCESS, new Color(0x2471A3),
            Family.SEED, new Color(0x229954),
            Family.REFERENCE, new Color(0x7F8C8D)));

    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 15);
    private static final Font LABEL = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
    private static final Font GROUP = new Font(Font.SANS_SERIF, Font.BOLD, 13);
    private static final Font SMALL = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
    private static final int PANEL_WIDTH = 700;
    private static final int LABEL_WIDTH = 190;
    private static final int ROW = 22;

    private Chart() {
    }

    /** The dot plots of {@code rows} (those of the families given), two panels by two, into {@code png}. */
    static void models(List<Figures> rows, List<Family> families, String title, Path png) throws IOException {
        List<Figures> ok = rows.stream().filter(f -> f.ok() && families.contains(f.model().family())).toList();
        List<Panel> panels = List.of(
                new Panel("first echo p50, ms", true, Figures::firstEchoP50Ms),
                new Panel("CPU per session, ms (user + sys)", true, Figures::cpuMsPerConn),
                new Panel("round trip on a held connection p50, ms", true, Figures::heldRoundTripP50Ms),
                new Panel("sessions per second, sustained", false, Figures::connectionsPerSec));
        int groups = (int) ok.stream().map(f -> f.model().family()).distinct().count();
        int panelHeight = 70 + (ok.size() + groups) * ROW + 40;
        int top = 36;
        BufferedImage image = new BufferedImage(2 * PANEL_WIDTH, top + 2 * panelHeight, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        g.setColor(Color.BLACK);
        g.setFont(TITLE.deriveFont(17f));
        g.drawString(title, 12, 24);
        for (int i = 0; i < panels.size(); i++) {
            dots(g, ok, panels.get(i), (i % 2) * PANEL_WIDTH, top + (i / 2) * panelHeight, panelHeight);
        }
        g.dispose();
        ImageIO.write(image, "png", png.toFile());
    }

    /** One dot plot: what it shows, whether lower is better, and the figure. */
    record Panel(String title, boolean lowerIsBetter, ToDoubleFunction<Figures> figure) {
    }

    private static void dots(Graphics2D g, List<Figures> rows, Panel panel, int x0, int y0, int height) {
        List<Figures> shown = rows.stream().filter(f -> panel.figure().applyAsDouble(f) > 0).toList();
        g.setColor(Color.BLACK);
        g.setFont(TITLE);
        g.drawString(panel.title() + (panel.lowerIsBetter() ? "  (lower is better)" : "  (higher is better)"), x0 + 12, y0 + 24);
        int left = x0 + LABEL_WIDTH;
        int right = x0 + PANEL_WIDTH - 70;
        int plotTop = y0 + 40;
        int plotBottom = y0 + height - 40;
        if (shown.isEmpty()) {
            g.setFont(LABEL);
            g.drawString("nothing measured", left, plotTop + 20);
            return;
        }
        double low = Math.floor(Math.log10(shown.stream().mapToDouble(panel.figure()).min().orElseThrow()));
        double high = Math.ceil(Math.log10(shown.stream().mapToDouble(panel.figure()).max().orElseThrow()));
        if (high <= low) {
            high = low + 1;
        }
        double lo = low;
        double span = high - low;
        java.util.function.DoubleUnaryOperator px = v -> left + (Math.log10(v) - lo) / span * (right - left);
        // Decades: a grid line and a label each; 2..9 as short ticks.
        Stroke plain = g.getStroke();
        for (double d = low; d <= high; d++) {
            int x = (int) px.applyAsDouble(Math.pow(10, d));
            g.setColor(new Color(0xD5D8DC));
            g.drawLine(x, plotTop, x, plotBottom);
            g.setColor(Color.DARK_GRAY);
            g.setFont(SMALL);
            String label = tick(Math.pow(10, d));
            g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, plotBottom + 16);
            for (int m = 2; m < 10 && d < high; m++) {
                int mx = (int) px.applyAsDouble(m * Math.pow(10, d));
                g.drawLine(mx, plotBottom, mx, plotBottom + 4);
            }
        }
        g.setColor(Color.DARK_GRAY);
        g.drawLine(left, plotBottom, right, plotBottom);
        g.setFont(SMALL);
        g.drawString(panel.lowerIsBetter() ? "← better" : "better →", panel.lowerIsBetter() ? left : right - 50, plotBottom + 32);
        g.drawString("log scale", (left + right) / 2 - 20, plotBottom + 32);
        int y = plotTop + 4;
        Family current = null;
        for (Figures f : rows) {
            if (f.model().family() != current) {
                current = f.model().family();
                y += ROW;
                g.setFont(GROUP);
                g.setColor(COLOURS.get(current));
                g.drawString(current.title(), x0 + 12, y - 4);
            }
            y += ROW;
            g.setFont(LABEL);
            g.setColor(Color.BLACK);
            g.drawString(f.model().label(), x0 + 24, y - 4);
            g.setColor(new Color(0xEEEEEE));
            g.setStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {2f, 3f}, 0f));
            g.drawLine(left, y - 8, right, y - 8);
            g.setStroke(plain);
            double v = panel.figure().applyAsDouble(f);
            if (!(v > 0)) {
                g.setColor(Color.GRAY);
                g.drawString("n/a", left + 4, y - 4);
                continue;
            }
            int x = (int) px.applyAsDouble(v);
            g.setColor(COLOURS.get(current));
            g.fillOval(x - 6, y - 14, 12, 12);
            g.setColor(Color.BLACK);
            g.setFont(SMALL);
            g.drawString(Report.number(v), x + 9, y - 4);
        }
    }

    private static String tick(double v) {
        return v >= 1 ? String.format(Locale.ROOT, "%,.0f", v) : String.format(Locale.ROOT, "%s", Report.number(v)).replaceAll("0+$", "");
    }

    /** The scale ladder: charged and PSS memory per held connection and the round trip, a line per model. */
    static void scale(Scale.Figures scale, List<Model> models, String title, Path png) throws IOException {
        List<Model> shown = models.stream().filter(m -> m.family() != Family.REFERENCE).toList();
        List<XYChart> charts = new ArrayList<>();
        if (scale.cgroupMissing() == null) {
            charts.add(lines(scale, shown, title + ": charged memory per held connection, KiB (lower is better)",
                    "KiB (memory cgroup)", p -> above(p.charged().value(), p.chargedResolution())));
        }
        charts.add(lines(scale, shown, "PSS per held connection, KiB (lower is better)", "KiB (PSS)",
                p -> above(p.pss().value(), p.pssResolution())));
        charts.add(lines(scale, shown, "round trip with N held, p50 ms (lower is better)", "ms", p -> p.roundTrip().value()));
        BitmapEncoder.saveBitmap(charts, charts.size(), 1, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** Below its resolution a figure is noise, and a log axis cannot show zero: left out. */
    private static double above(double value, double resolution) {
        return value > resolution ? value : Double.NaN;
    }

    private static XYChart lines(Scale.Figures scale, List<Model> models, String title, String unit,
                                 ToDoubleFunction<Point> figure) {
        XYChart chart = new XYChartBuilder().width(1000).height(520).title(title)
                .xAxisTitle("connections held (log scale); a point within its noise is left out").yAxisTitle(unit + ", log scale").build();
        XYStyler styler = chart.getStyler();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setChartTitleFont(TITLE);
        chart.getStyler().setLegendFont(LABEL);
        chart.getStyler().setAxisTitleFont(LABEL);
        chart.getStyler().setAxisTickLabelsFont(LABEL);
        chart.getStyler().setXAxisDecimalPattern("#,##0");
        chart.getStyler().setYAxisDecimalPattern("#,##0.###");
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotGridLinesColor(new Color(0xD5D8DC));
        styler.setMarkerSize(9);
        Marker[] markers = {SeriesMarkers.CIRCLE, SeriesMarkers.SQUARE, SeriesMarkers.DIAMOND, SeriesMarkers.TRIANGLE_UP};
        BasicStroke[] strokes = {SeriesLines.SOLID, SeriesLines.DASH_DASH, SeriesLines.DOT_DOT, SeriesLines.DASH_DOT};
        Map<Family, Integer> nth = new EnumMap<>(Family.class);
        boolean any = false;
        double least = Double.MAX_VALUE;
        double most = 0;
        for (Model model : models) {
            // A model's marker and line style by its place in its family, the same in every panel.
            int i = nth.merge(model.family(), 1, Integer::sum) - 1;
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            for (Point p : scale.of(model)) {
                double v = p.measured() ? figure.applyAsDouble(p) : Double.NaN;
                if (v > 0) {
                    xs.add((double) p.held());
                    ys.add(v);
                }
            }
            if (xs.isEmpty()) {
                continue;
            }
            least = Math.min(least, ys.stream().mapToDouble(Double::doubleValue).min().orElseThrow());
            most = Math.max(most, ys.stream().mapToDouble(Double::doubleValue).max().orElseThrow());
            XYSeries series = chart.addSeries(model.label(), xs, ys);
            series.setLineColor(COLOURS.get(model.family()));
            series.setMarkerColor(COLOURS.get(model.family()));
            series.setMarker(markers[i % markers.length]);
            series.setLineStyle(strokes[i % strokes.length]);
            any = true;
        }
        if (!any) {
            chart.setTitle(title + " (nothing above the noise)");
            chart.addSeries("-", List.of(1.0), List.of(1.0));
        } else {
            // Whole decades, so that a labelled tick shows at both ends however narrow the range.
            styler.setYAxisMin(Math.pow(10, Math.floor(Math.log10(least))));
            styler.setYAxisMax(Math.pow(10, Math.ceil(Math.log10(most * 1.0001))));
        }
        return chart;
    }
}
