using System.Text;

namespace BatchGuard.Tests.Foundation;

/// <summary>Minimal, independent reader of an ELF64 .gnu.version_r section, to check what the build patched.</summary>
internal static class ElfVersionNeeds
{
    public static ushort? FlagsOf(string path, string versionName)
    {
        byte[] elf = File.ReadAllBytes(path);
        long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A);
        int shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            int sh = (int)(shoff + i * shentsize);
            if (BitConverter.ToUInt32(elf, sh + 4) != 0x6ffffffe) continue;
            int offset = (int)BitConverter.ToUInt64(elf, sh + 24);
            uint link = BitConverter.ToUInt32(elf, sh + 40);
            uint count = BitConverter.ToUInt32(elf, sh + 44);
            int strtab = (int)BitConverter.ToUInt64(elf, (int)(shoff + link * shentsize) + 24);
            int need = offset;
            for (int n = 0; n < count; n++)
            {
                int aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
                for (int a = 0; a < BitConverter.ToUInt16(elf, need + 2); a++)
                {
                    int name = strtab + (int)BitConverter.ToUInt32(elf, aux + 8);
                    int end = Array.IndexOf(elf, (byte)0, name);
                    if (Encoding.ASCII.GetString(elf, name, end - name) == versionName)
                        return BitConverter.ToUInt16(elf, aux + 4);
                    aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                }
                need += (int)BitConverter.ToUInt32(elf, need + 12);
            }
        }
        return null;
    }
}
