package forkserver.bench;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Path;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The chart: four bar charts side by side (first-echo latency, memory and CPU per connection,
 * sessions per second), one bar per passing model, drawn by XChart into a PNG. The axes are
 * logarithmic: the models differ by orders of magnitude.
 */
final class Chart {

    private Chart() {
    }

    static void write(List<Figures> rows, String title, Path png) throws IOException {
        List<Figures> ok = rows.stream().filter(Figures::ok).toList();
        List<CategoryChart> charts = List.of(
                bars(ok, title + ": first echo p50", "ms", Figures::firstEchoP50Ms),
                bars(ok, "memory per held connection (PSS)", "KiB", Figures::measurablePssPerConnKiB),
                bars(ok, "CPU per session (user + sys)", "ms", Figures::cpuMsPerConn),
                bars(ok, "sessions per second (sustained)", "sessions/s", Figures::connectionsPerSec));
        BitmapEncoder.saveBitmap(charts, 2, 2, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static CategoryChart bars(List<Figures> rows, String title, String unit, ToDoubleFunction<Figures> figure) {
        CategoryChart chart = new CategoryChartBuilder().width(640).height(400).title(title).yAxisTitle(unit).build();
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setXAxisLabelRotation(30);
        chart.getStyler().setLabelsVisible(true); // the value on each bar
        chart.getStyler().setYAxisDecimalPattern("#,##0.###");
        // A log axis cannot show zero or less (an event loop's memory may not grow measurably).
        List<Figures> shown = rows.stream().filter(f -> figure.applyAsDouble(f) > 0).toList();
        if (shown.isEmpty()) {
            chart.setTitle(title + " (nothing to show)");
            chart.addSeries(unit, List.of("-"), List.of(1));
            return chart;
        }
        // Bars start at the axis minimum, which XChart puts at zero unless told: a decade below the least.
        double least = shown.stream().mapToDouble(figure).min().orElseThrow();
        chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(least))));
        chart.addSeries(unit, shown.stream().map(Figures::model).toList(),
                shown.stream().map(f -> (Number) threeFigures(figure.applyAsDouble(f))).toList());
        return chart;
    }

    /** 1835.333 → 1840: the bar's label says no more than the measurement can. */
    private static double threeFigures(double value) {
        return new BigDecimal(value).round(new MathContext(3)).doubleValue();
    }
}
